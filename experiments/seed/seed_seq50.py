"""Seed experiment 4: as seed_lstm with sequences of 50 tokens.

Command:  python -m ngjax.main --experiment=seed_seq50 --data_dir=PATH/20news-bydate.tar.gz
Seed (Keras, GloVe 100d): test accuracy 0.2723 -> 0.5826 (train loss 2.5421 -> 1.0122).
"""

from experiments import REFERENCE

CONFIG = dict(REFERENCE, cell="lstm", seq_len=50, embeddings="glove", hidden_size=30, epochs=50, batch_size=32)
