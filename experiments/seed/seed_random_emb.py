"""Seed experiment 3: LSTM(30) with a random, trainable 100-d embedding (no GloVe).

Command:  python -m ngjax.main --experiment=seed_random_emb --data_dir=PATH/20news-bydate.tar.gz
Seed (Keras): test accuracy 0.1895 -> 0.3230 (train loss 2.8359 -> 1.9216).
"""

from experiments import REFERENCE

CONFIG = dict(REFERENCE, cell="lstm", seq_len=30, embeddings="random", embed_dim=100, hidden_size=30,
              epochs=50, batch_size=32)
