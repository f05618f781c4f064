"""Seed experiment 1: LSTM(30), seq 30, frozen GloVe, Dense(20) softmax, Adam, batch 32, 50 epochs.

Command:  python -m ngjax.main --experiment=seed_lstm --data_dir=PATH/20news-bydate.tar.gz
Seed (Keras, GloVe 100d): test accuracy 0.2606 after epoch 1 -> 0.4859 after epoch 50
(train loss 2.5882 -> 1.3330). ngjax uses the bundled GloVe 50d unless --glove_path is given.
"""

from experiments import REFERENCE

CONFIG = dict(REFERENCE, cell="lstm", seq_len=30, embeddings="glove", hidden_size=30, epochs=50, batch_size=32)
