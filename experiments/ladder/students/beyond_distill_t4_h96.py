"""Candidate (tried on validation, distillation): beyond_distill_t4 with a wider student, BiGRU(96)
per direction instead of 64 (a 5-run ensemble may carry more than a network of the teachers' width
can take in; ~1.5x the cell work).

Commands (the teacher file as for beyond_distill_t4):
    python -m ngjax.main --experiment=beyond_distill_t4_h96 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_t4 import CONFIG as BASE
from experiments.ladder.students.beyond_distill_t4 import TEACHER  # noqa: F401 (the driver reads it)

CONFIG = dict(BASE, hidden_size=96)
