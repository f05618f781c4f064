"""Candidate (tried on validation, not a ladder step): beyond_rand128_maxmean with word dropout 0.5
(was 0.25): the wider head overfits within a few epochs, so drop more of each document.

Command:  python -m ngjax.main --experiment=beyond_maxmean_wdrop --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md ("tried on validation").
"""

from experiments.ladder.steps.beyond_rand128_maxmean import CONFIG as BASE

CONFIG = dict(BASE, embed_dropout=0.5)
