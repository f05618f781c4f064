"""Candidate (tried on validation, not a ladder step): beyond_rand128 whose head reads max and mean
pooling side by side (ULMFiT's concat pooling without the last state): 256 features, not 128.

Command:  python -m ngjax.main --experiment=beyond_rand128_maxmean --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/results/beyond.md ("tried on validation").
"""

from experiments.beyond.beyond_rand128 import CONFIG as BASE

CONFIG = dict(BASE, pool="maxmean")
