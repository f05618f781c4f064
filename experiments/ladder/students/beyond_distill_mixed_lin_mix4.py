"""Candidate (tried on validation, distillation): beyond_distill_mixed_lin with four mixed documents per
training document instead of two (the teachers, the 5 runs and the linear member, label 40,728 mixed
documents). The mixed documents are where the student learns how its teachers weigh evidence (the
soft targets on the training documents say little beyond the labels), so more of them is the direct
way to give it more of that; each epoch then holds 5 times the training documents instead of 3.
Commands:
    python -m ngjax.distill.teacher --workdirs=RUNS/beyond_rand128_maxmean,RUNS/beyond_rand128_maxmean_seed1,...4 \
        --mix_copies=4 --linear_weight=0.166667 \
        --out=RUNS/teacher_beyond_rand128_maxmean_linear_weight0.166667_mix_copies4.npz
    python -m ngjax.main --experiment=beyond_distill_mixed_lin_mix4 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean_linear_weight0.166667_mix_copies4.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/ladder/results/beyond_followup.md.
"""

from experiments.ladder.students.beyond_distill_mixed_lin import CONFIG as BASE
from experiments.ladder.students.beyond_distill_mixed_lin import TEACHER  # noqa: F401 (the driver reads it)

TEACHER_OPTIONS = dict(mix_copies=4, linear_weight=1 / 6)  # four mixed documents per training document
CONFIG = dict(BASE)
