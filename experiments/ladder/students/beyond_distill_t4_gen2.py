"""Candidate (tried on validation, second distillation generation): beyond_distill_t4's settings,
taught by the 5-run ensemble of the *distilled* beyond_distill_t4 (its final seeds) instead of the
plain model's ("born-again networks", Furlanello et al. 2018). Tried only when beyond_distill_t4
is the chosen model; the ladder writes RUNS/teacher_beyond_distill_t4.npz from those runs
(python -m ngjax.distill.teacher --workdirs=RUNS/beyond_distill_t4,RUNS/beyond_distill_t4_seed1,...4).

Command:  python -m ngjax.main --experiment=beyond_distill_t4_gen2 --data_dir=PATH/20news-bydate.tar.gz \
              --teacher=RUNS/teacher_beyond_distill_t4.npz
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_t4 import CONFIG as BASE

TEACHER = "beyond_distill_t4"  # the configuration whose final seeds are the teachers
CONFIG = dict(BASE)
