"""Candidate (tried on validation, distillation): beyond_distill_t4 with the teacher's soft targets
weighted 0.9 instead of 0.7 (the labels' cross-entropy 0.1): the student leans on the ensemble.

Commands (the teacher file as for beyond_distill_t4):
    python -m ngjax.main --experiment=beyond_distill_t4_w9 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_t4 import CONFIG as BASE
from experiments.ladder.students.beyond_distill_t4 import TEACHER  # noqa: F401 (the driver reads it)

CONFIG = dict(BASE, distill_weight=0.9)
