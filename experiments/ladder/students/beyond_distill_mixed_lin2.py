"""Candidate (tried on validation, distillation): beyond_distill_mixed_lin with the linear member at
weight 1/3 instead of 1/6 (the TF-IDF + logistic regression model counts as much as 2.5 of the 5
recurrent runs): the second point on the weight axis.

Commands:
    python -m ngjax.distill.teacher --workdirs=RUNS/beyond_rand128_maxmean,RUNS/beyond_rand128_maxmean_seed1,...4 \
        --mix_copies=2 --linear_weight=0.333333 \
        --out=RUNS/teacher_beyond_rand128_maxmean_linear_weight0.333333_mix_copies2.npz
    python -m ngjax.main --experiment=beyond_distill_mixed_lin2 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean_linear_weight0.333333_mix_copies2.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_mixed import CONFIG as BASE
from experiments.ladder.students.beyond_distill_mixed import TEACHER  # noqa: F401 (the driver reads it)

TEACHER_OPTIONS = dict(mix_copies=2, linear_weight=1 / 3)  # the linear model weighs 1/3 of every target
CONFIG = dict(BASE)
