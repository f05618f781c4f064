"""Ladder step: beyond_long with a random trainable 128-d table in place of fine-tuned GloVe 50-d
(a wider table, no pretraining).

Command:  python -m ngjax.main --experiment=beyond_rand128 --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md (val / test accuracy of the best validation epoch).
"""

from experiments.ladder.steps.beyond_long import CONFIG as BASE

CONFIG = dict(BASE, embeddings="random", embed_dim=128, finetune_embedding=False)
