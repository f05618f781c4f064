"""Candidate (tried on validation, distillation): beyond_distill_t2 at temperature 8 (the teacher's
probabilities to the power 1/8: flatter targets, which say more about the groups a document is
close to).

Command (after the teacher file of beyond_distill_t2):
    python -m ngjax.main --experiment=beyond_distill_t8 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean.npz
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_t2 import CONFIG as BASE
from experiments.ladder.students.beyond_distill_t2 import TEACHER  # noqa: F401 (the driver reads it)

CONFIG = dict(BASE, distill_temperature=8.0)
