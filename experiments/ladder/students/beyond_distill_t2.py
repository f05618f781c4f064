"""Candidate (tried on validation, distillation): beyond_rand128_maxmean trained on the labels and,
with weight 0.7, on the soft targets of the 5-run ensemble of beyond_rand128_maxmean (its 5 final
seeds, each at its best validation epoch) at temperature 2. One network at prediction time; its
training needs the 5 teachers first.

Commands:
    python -m ngjax.distill.teacher --workdirs=RUNS/beyond_rand128_maxmean,RUNS/beyond_rand128_maxmean_seed1,...4 \
        --out=RUNS/teacher_beyond_rand128_maxmean.npz
    python -m ngjax.main --experiment=beyond_distill_t2 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.steps.beyond_rand128_maxmean import CONFIG as BASE

TEACHER = "beyond_rand128_maxmean"  # the configuration whose final seeds are the teachers
CONFIG = dict(BASE, distill_weight=0.7, distill_temperature=2.0)
