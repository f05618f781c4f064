"""Ladder step: beyond_post + seq_len=256.

Command:  python -m ngjax.main --experiment=beyond_seq256 --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md (val / test accuracy of the best validation epoch).
"""

from experiments.ladder.steps.beyond_post import CONFIG as BASE

CONFIG = dict(BASE, seq_len=256)
