"""Candidate (tried on validation, distillation): beyond_distill_mixed taught by a more diverse ensemble:
the 5 runs of beyond_rand128_maxmean and, as a sixth member of equal weight (1/6), a TF-IDF + logistic
regression model of whole documents (ngjax.distill.linear: every word of the training part, C chosen on the
validation part), on the training documents and on the 2 mixed documents per training document. The
5 recurrent runs read the same first 400 tokens the same way and err alike; a bag-of-words model of
whole documents errs differently (on this split a linear model scores like one run of them). The
student is still one BiGRU network: the linear model only writes targets.

Commands:
    python -m ngjax.distill.teacher --workdirs=RUNS/beyond_rand128_maxmean,RUNS/beyond_rand128_maxmean_seed1,...4 \
        --mix_copies=2 --linear_weight=0.166667 \
        --out=RUNS/teacher_beyond_rand128_maxmean_linear_weight0.166667_mix_copies2.npz
    python -m ngjax.main --experiment=beyond_distill_mixed_lin --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean_linear_weight0.166667_mix_copies2.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_mixed import CONFIG as BASE
from experiments.ladder.students.beyond_distill_mixed import TEACHER  # noqa: F401 (the driver reads it)

TEACHER_OPTIONS = dict(mix_copies=2, linear_weight=1 / 6)  # the linear model as a sixth member of equal weight
CONFIG = dict(BASE)
