"""Ladder step: beyond_seq256 + finetune_embedding=True, epochs=20, early_stopping=3.

Command:  python -m ngjax.main --experiment=beyond_finetune --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md (val / test accuracy of the best validation epoch).
"""

from experiments.ladder.steps.beyond_seq256 import CONFIG as BASE

CONFIG = dict(BASE, finetune_embedding=True, epochs=20, early_stopping=3)
