"""Ladder step: beyond_seed + padding="post", truncating="post".

Command:  python -m ngjax.main --experiment=beyond_post --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/results/beyond.md (val / test accuracy of the best validation epoch).
"""

from experiments.beyond.beyond_seed import CONFIG as BASE

CONFIG = dict(BASE, padding="post", truncating="post")
