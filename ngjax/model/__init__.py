"""The model as pure functions of (params, inputs): cells, the recurrences (``lax.scan`` and the
hand-written backward pass), the encoder (directions, layers, masks), the heads, and the network
(``ModelSpec``, init, apply, Keras' parameter counts)."""
