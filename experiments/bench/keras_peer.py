"""ngjax's models in Keras 3 (JAX backend), built from an ngjax run's inputs: the peer that the
benchmark times and that keras_reference trains for the seed table's reference column.

The seed's models get the seed's recipe: an Embedding with one row per training word
(``keras_rows``, e.g. 134,138), the GloVe vectors in the rows ngjax stores (rows past
``num_words`` are never looked up), LSTM or SimpleRNN, Dense softmax, ``Adam(lr, epsilon=1e-7)``.
Long-document models (``table="stored"``) get a table of the rows ngjax stores, Keras'
Bidirectional / stacked / GRU layers, global max or mean pooling, dropout; Keras does not mask
padding there (as in the measured peers of ../shared/PERF_NOTES.md).
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")


def full_table(prep, table: str = "keras"):
    """(GloVe table float32[rows, E] or None for a random one, rows, E); rows = Keras' vocabulary
    + 1 (``table="keras"``, the seed's) or the rows ngjax stores (``"stored"``)."""
    rows = prep.keras_rows if table == "keras" else prep.spec.rows
    dim = prep.spec.embed_dim
    if prep.table is None:
        return None, rows, dim
    full = np.zeros((rows, dim), np.float32)
    full[: prep.table.shape[0]] = prep.table[:rows]
    return full, rows, dim


def build(prep, loss: str = "sparse_categorical_crossentropy", metrics=("accuracy",), table: str = "keras"):
    """A compiled ``keras.Sequential`` for ``prep`` (an ``ngjax.train.inputs.RunInputs``)."""
    import keras

    vectors, rows, dim = full_table(prep, table)
    spec = prep.spec
    emb = keras.layers.Embedding(rows, dim, trainable=spec.trainable_embedding)
    cell = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "rnn": keras.layers.SimpleRNN}[spec.cell]
    stack = []
    for layer in range(spec.num_layers):
        sequences = layer < spec.num_layers - 1 or spec.pool != "last"
        one = cell(spec.hidden_size, return_sequences=sequences)
        stack.append(keras.layers.Bidirectional(one) if spec.bidirectional else one)
    if spec.pool in ("max", "mean"):
        stack.append(keras.layers.GlobalMaxPooling1D() if spec.pool == "max" else keras.layers.GlobalAveragePooling1D())
    if spec.dropout:
        stack.append(keras.layers.Dropout(spec.dropout))
    model = keras.Sequential([keras.Input((prep.cfg.seq_len,), dtype="int32"), emb, *stack,
                              keras.layers.Dense(spec.num_classes, activation="softmax")])
    if vectors is not None:
        emb.set_weights([vectors])
    model.compile(optimizer=keras.optimizers.Adam(prep.cfg.learning_rate, epsilon=1e-7), loss=loss,
                  metrics=list(metrics))
    return model
