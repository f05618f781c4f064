"""Candidate (tried on validation, second distillation generation): beyond_distill_t4_words'
settings, taught by the 5-run ensemble of beyond_distill_t4_words itself (its final seeds) instead
of the plain model's ("born-again networks", Furlanello et al. 2018). Tried only when
beyond_distill_t4_words is the chosen model; the ladder writes RUNS/teacher_beyond_distill_t4_words.npz
from those runs (python -m ngjax.distill.teacher --workdirs=RUNS/beyond_distill_t4_words,...,_seed4).

Command:  python -m ngjax.main --experiment=beyond_distill_words_gen2 --data_dir=PATH/20news-bydate.tar.gz \
              --teacher=RUNS/teacher_beyond_distill_t4_words.npz
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_t4_words import CONFIG as BASE

TEACHER = "beyond_distill_t4_words"  # the configuration whose final seeds are the teachers
CONFIG = dict(BASE)
