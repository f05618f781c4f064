"""Ladder step: beyond_dropout + num_words=60000, seq_len=400, learning_rate=2e-3, clip_norm=1.0, batch_size=64, length_buckets=8.

Command:  python -m ngjax.main --experiment=beyond_long --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md (val / test accuracy of the best validation epoch).
"""

from experiments.ladder.steps.beyond_dropout import CONFIG as BASE

CONFIG = dict(BASE, num_words=60000, seq_len=400, learning_rate=2e-3, clip_norm=1.0, batch_size=64, length_buckets=8)
