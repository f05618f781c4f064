"""Ladder step: beyond_gru64 + bidirectional=True.

Command:  python -m ngjax.main --experiment=beyond_bigru --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md (val / test accuracy of the best validation epoch).
"""

from experiments.ladder.steps.beyond_gru64 import CONFIG as BASE

CONFIG = dict(BASE, bidirectional=True)
