"""Ladder step: beyond_maxpool + embed_dropout=0.25, dropout=0.5.

Command:  python -m ngjax.main --experiment=beyond_dropout --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md (val / test accuracy of the best validation epoch).
"""

from experiments.ladder.steps.beyond_maxpool import CONFIG as BASE

CONFIG = dict(BASE, embed_dropout=0.25, dropout=0.5)
