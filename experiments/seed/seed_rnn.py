"""Seed experiment 2: SimpleRNN(30) in place of the LSTM, otherwise as seed_lstm.

Command:  python -m ngjax.main --experiment=seed_rnn --data_dir=PATH/20news-bydate.tar.gz
Seed (Keras, GloVe 100d): test accuracy 0.2556 -> 0.2546 (train loss 2.3774 -> 2.3267).
"""

from experiments import REFERENCE

CONFIG = dict(REFERENCE, cell="rnn", seq_len=30, embeddings="glove", hidden_size=30, epochs=50, batch_size=32)
