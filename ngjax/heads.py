"""Heads: what turns the encoder's features into class logits (softmax is applied by the loss).

Adding a head (pooling over time, attention) is one function here and its parameters in
``model.init``.
"""

from __future__ import annotations

from typing import Dict

import jax

from ngjax.initializers import glorot_uniform


def init_dense(key: jax.Array, features: int, classes: int) -> Dict[str, jax.Array]:
    import jax.numpy as jnp

    return {"kernel": glorot_uniform(key, (features, classes)),
            "bias": jnp.zeros((classes,), jnp.float32)}


def dense(p: Dict[str, jax.Array], h: jax.Array) -> jax.Array:
    """h: float32[batch, F] -> logits float32[batch, C] (Keras' Dense; softmax in the loss)."""
    return h @ p["kernel"] + p["bias"]


def dense_param_count(features: int, classes: int) -> int:
    return features * classes + classes
