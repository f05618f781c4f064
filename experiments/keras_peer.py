"""The seed's model in Keras 3 (JAX backend), built from an ngjax run's inputs: the peer that the
benchmark times and that keras_reference trains for the seed table's reference column.

Keras gets the seed's recipe: an Embedding with one row per training word (``keras_rows``, e.g.
134,138), the GloVe vectors in the rows ngjax stores (rows past ``num_words`` are never looked up),
LSTM or SimpleRNN, Dense softmax, ``Adam(lr, epsilon=1e-7)``.
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")


def full_table(prep):
    """(table float32[keras_rows, E] or None for a random one, keras_rows, E)."""
    rows, dim = prep.keras_rows, prep.spec.embed_dim
    if prep.table is None:
        return None, rows, dim
    full = np.zeros((rows, dim), np.float32)
    full[: prep.table.shape[0]] = prep.table
    return full, rows, dim


def build(prep, loss: str = "sparse_categorical_crossentropy", metrics=("accuracy",)):
    """A compiled ``keras.Sequential`` for ``prep`` (an ``ngjax.inputs.RunInputs``)."""
    import keras

    table, rows, dim = full_table(prep)
    spec = prep.spec
    emb = keras.layers.Embedding(rows, dim, trainable=table is None)
    rnn = keras.layers.LSTM(spec.hidden_size) if spec.cell == "lstm" else keras.layers.SimpleRNN(spec.hidden_size)
    model = keras.Sequential([keras.Input((prep.cfg.seq_len,), dtype="int32"), emb, rnn,
                              keras.layers.Dense(spec.num_classes, activation="softmax")])
    if table is not None:
        emb.set_weights([table])
    model.compile(optimizer=keras.optimizers.Adam(prep.cfg.learning_rate, epsilon=1e-7), loss=loss,
                  metrics=list(metrics))
    return model
