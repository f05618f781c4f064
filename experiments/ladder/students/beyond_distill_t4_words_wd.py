"""Candidate (tried on validation, distillation): beyond_distill_t4_words with decoupled weight decay
0.1 (Keras' AdamW: every weight, the word vectors included, shrinks by lr * 0.1 each step). Aimed at
the word vectors of rare words, which the dense Adam update keeps moving long after their last
document: the decay pulls a vector back toward zero unless documents keep asking for it.

Commands (the teacher file as for beyond_distill_t4):
    python -m ngjax.main --experiment=beyond_distill_t4_words_wd --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_t4_words import CONFIG as BASE
from experiments.ladder.students.beyond_distill_t4_words import TEACHER  # noqa: F401 (the driver reads it)

CONFIG = dict(BASE, weight_decay=0.1)
