"""Candidate (tried on validation, not a ladder step): beyond_long with a random trainable 256-d
table in place of fine-tuned GloVe 50-d (a wider table, no pretraining).

Command:  python -m ngjax.main --experiment=beyond_rand256 --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md ("tried on validation").
"""

from experiments.ladder.steps.beyond_long import CONFIG as BASE

CONFIG = dict(BASE, embeddings="random", embed_dim=256, finetune_embedding=False)
