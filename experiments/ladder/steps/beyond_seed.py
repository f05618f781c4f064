"""Ladder step 0: the seed's best model (seed_seq100) under the selection protocol.

Command:  python -m ngjax.main --experiment=beyond_seed --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md (val / test accuracy of the best validation epoch).
"""

from experiments.ladder import PROTOCOL

CONFIG = dict(PROTOCOL, cell="lstm", hidden_size=30, seq_len=100, embeddings="glove", batch_size=32,
              epochs=50, early_stopping=5)
