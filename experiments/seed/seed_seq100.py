"""Seed experiment 5: as seed_lstm with sequences of 100 tokens.

Command:  python -m ngjax.main --experiment=seed_seq100 --data_dir=PATH/20news-bydate.tar.gz
Seed (Keras, GloVe 100d): test accuracy 0.3440 -> 0.6730 (train loss 2.4507 -> 0.6649).
"""

from experiments import REFERENCE

CONFIG = dict(REFERENCE, cell="lstm", seq_len=100, embeddings="glove", hidden_size=30, epochs=50, batch_size=32)
