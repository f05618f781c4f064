"""Candidate (tried on validation, not a ladder step): beyond_rand128 with word dropout 0.5 (was
0.25): each document is read with half its words dropped, so no few words can carry it.

Command:  python -m ngjax.main --experiment=beyond_rand128_wdrop --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md ("tried on validation").
"""

from experiments.ladder.steps.beyond_rand128 import CONFIG as BASE

CONFIG = dict(BASE, embed_dropout=0.5)
