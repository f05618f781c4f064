"""The best model, chosen on validation (distillation): beyond_distill_t4_words without word dropout, so
the student reads each training document as its teachers did when they wrote its soft targets (the
teachers saw whole documents; with word dropout the student matches their targets on a quarter of
the words missing). Dropout 0.5 before the head stays.

Prediction costs one network; training needs the 5 teachers (beyond_rand128_maxmean, seeds 0-4) first.

Commands (the teacher file as for beyond_distill_t4):
    python -m ngjax.main --experiment=beyond_distill_t4_words_nodrop --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_t4_words import CONFIG as BASE
from experiments.ladder.students.beyond_distill_t4_words import TEACHER  # noqa: F401 (the driver reads it)

CONFIG = dict(BASE, embed_dropout=0.0)
