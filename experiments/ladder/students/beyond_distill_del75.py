"""Candidate (tried on validation, distillation): beyond_rand128_maxmean trained on the labels and,
with weight 0.7, on soft targets from the 5-run ensemble of beyond_rand128_maxmean read on
*shortened* training documents: each teacher reads every document twice with 75% of its words
deleted (probabilities averaged), at temperature 2. The teachers have fit the full training
documents and are nearly certain of their groups; on a quarter of the words they are less sure, in
ways that depend on the document, which is the information a student could learn from. One
network at prediction time.

Commands:
    python -m ngjax.distill.teacher --workdirs=RUNS/beyond_rand128_maxmean,RUNS/beyond_rand128_maxmean_seed1,...4 \
        --delete=0.75 --passes=2 --out=RUNS/teacher_beyond_rand128_maxmean_delete0.75_passes2.npz
    python -m ngjax.main --experiment=beyond_distill_del75 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean_delete0.75_passes2.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.steps.beyond_rand128_maxmean import CONFIG as BASE

TEACHER = "beyond_rand128_maxmean"  # the configuration whose final seeds are the teachers
TEACHER_OPTIONS = dict(delete=0.75, passes=2)  # how the teachers read the training documents
CONFIG = dict(BASE, distill_weight=0.7, distill_temperature=2.0)
