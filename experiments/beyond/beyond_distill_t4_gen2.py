"""Candidate (tried on validation, second distillation generation): beyond_distill_t4's settings
(weight 0.7, temperature 4), taught by the 5-run ensemble of the *distilled* beyond_distill_t4 (its
final seeds) instead of the plain model's ("born-again networks", Furlanello et al. 2018). Tried
only when beyond_distill_t4 is the chosen model.

Commands:
    python -m ngjax.teacher --workdirs=RUNS/beyond_distill_t4,RUNS/beyond_distill_t4_seed1,...4 \
        --out=RUNS/teacher_beyond_distill_t4.npz
    python -m ngjax.main --experiment=beyond_distill_t4_gen2 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_distill_t4.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/results/beyond.md.
"""

from experiments.beyond.beyond_rand128_maxmean import CONFIG as BASE

TEACHER = "beyond_distill_t4"  # the configuration whose final seeds are the teachers
CONFIG = dict(BASE, distill_weight=0.7, distill_temperature=4.0)
