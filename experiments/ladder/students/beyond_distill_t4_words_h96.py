"""Candidate (tried on validation, distillation): beyond_distill_t4_words
with the wider student of beyond_distill_t4_h96, BiGRU(96) per direction (the two students that
beat beyond_distill_t4 on validation, combined).

Commands (the teacher file as for beyond_distill_t4):
    python -m ngjax.main --experiment=beyond_distill_t4_words_h96 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_t4_words import CONFIG as BASE
from experiments.ladder.students.beyond_distill_t4_words import TEACHER  # noqa: F401 (the driver reads it)

CONFIG = dict(BASE, hidden_size=96)
