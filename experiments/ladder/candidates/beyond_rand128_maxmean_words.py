"""Candidate (tried on validation): beyond_rand128_maxmean whose head also pools the word vectors
(--pool_embeddings), i.e. beyond_distill_t4_words without a teacher. Pooling the word vectors
helped the distilled student; had it won here too, its 5 seeds would have been the teachers.

Command:  python -m ngjax.main --experiment=beyond_rand128_maxmean_words --data_dir=PATH/20news-bydate.tar.gz
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.steps.beyond_rand128_maxmean import CONFIG as BASE

CONFIG = dict(BASE, pool_embeddings=True)
