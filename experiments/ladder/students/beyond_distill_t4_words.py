"""Candidate (distillation; the chosen student until beyond_distill_t4_words_nodrop, the same without word
dropout, beat it on validation): beyond_distill_t4 whose head also pools the word vectors themselves
(--pool_embeddings): max and mean of the 128-d vectors over the real tokens beside max and mean of
the BiGRU outputs (256 + 256 features). A direct bag-of-words path, as SWEM's: on these very tokens a
linear bag-of-words model (experiments/ladder/results/input_bounds.md) beats the recurrent network on test.

Prediction costs one network; training needs the 5 teachers (beyond_rand128_maxmean, seeds 0-4) first.

Commands (the teacher file as for beyond_distill_t4):
    python -m ngjax.main --experiment=beyond_distill_t4_words --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_t4 import CONFIG as BASE
from experiments.ladder.students.beyond_distill_t4 import TEACHER  # noqa: F401 (the driver reads it)

CONFIG = dict(BASE, pool_embeddings=True)
