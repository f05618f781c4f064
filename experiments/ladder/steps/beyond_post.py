"""Ladder step: beyond_seed + truncating="post" (keep the first 100 tokens: the headers).

Command:  python -m ngjax.main --experiment=beyond_post --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md (val / test accuracy of the best validation epoch).
"""

from experiments.ladder.steps.beyond_seed import CONFIG as BASE

CONFIG = dict(BASE, truncating="post")  # padding stays in front: the last state is the last real token
