"""Candidate (tried on validation, not a ladder step): beyond_rand128_maxmean with one epoch of
linear warmup, then cosine decay to 0 over 12 epochs (in place of a constant learning rate).

Command:  python -m ngjax.main --experiment=beyond_maxmean_cosine --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md ("tried on validation").
"""

from experiments.ladder.steps.beyond_rand128_maxmean import CONFIG as BASE

CONFIG = dict(BASE, lr_schedule="warmup_cosine", warmup_epochs=1.0, schedule_epochs=12, epochs=12)
