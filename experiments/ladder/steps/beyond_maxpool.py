"""Ladder step: beyond_bigru + pool="max".

Command:  python -m ngjax.main --experiment=beyond_maxpool --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md (val / test accuracy of the best validation epoch).
"""

from experiments.ladder.steps.beyond_bigru import CONFIG as BASE

CONFIG = dict(BASE, pool="max")
