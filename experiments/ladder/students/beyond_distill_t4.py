"""Candidate (distillation; the chosen student until beyond_distill_t4_words, which adds the pooled
word vectors, beat it on validation): beyond_distill_t2 at temperature 4, i.e. the architecture of
beyond_rand128_maxmean trained on the labels and, with weight 0.7, on the averaged probabilities of
beyond_rand128_maxmean's 5 final runs raised to the power 1/4 and renormalised (flatter targets,
which say more about the groups a document is close to). One network at prediction time; its
training needs the 5 teachers first.

Commands (the teachers: beyond_rand128_maxmean with seeds 0-4 in RUNS/...):
    python -m ngjax.distill.teacher --workdirs=RUNS/beyond_rand128_maxmean,RUNS/beyond_rand128_maxmean_seed1,...4 \
        --out=RUNS/teacher_beyond_rand128_maxmean.npz
    python -m ngjax.main --experiment=beyond_distill_t4 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean.npz
Result: experiments/ladder/results/beyond.md (chosen on validation; trained with 5 seeds there).
"""

from experiments.ladder.students.beyond_distill_t2 import CONFIG as BASE
from experiments.ladder.students.beyond_distill_t2 import TEACHER  # noqa: F401 (the driver reads it)

CONFIG = dict(BASE, distill_temperature=4.0)
