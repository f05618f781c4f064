"""Candidate (tried on validation, second distillation generation): beyond_distill_t4_gen2 at
temperature 8.

Command (after the teacher file of beyond_distill_t4_gen2):
    python -m ngjax.main --experiment=beyond_distill_t8_gen2 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_distill_t4.npz
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_t4_gen2 import CONFIG as BASE
from experiments.ladder.students.beyond_distill_t4_gen2 import TEACHER  # noqa: F401 (the driver reads it)

CONFIG = dict(BASE, distill_temperature=8.0)
