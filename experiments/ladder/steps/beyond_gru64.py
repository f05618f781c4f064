"""Ladder step: beyond_finetune + cell="gru", hidden_size=64.

Command:  python -m ngjax.main --experiment=beyond_gru64 --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md (val / test accuracy of the best validation epoch).
"""

from experiments.ladder.steps.beyond_finetune import CONFIG as BASE

CONFIG = dict(BASE, cell="gru", hidden_size=64)
