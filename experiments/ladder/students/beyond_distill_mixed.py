"""Candidate (tried on validation, distillation): beyond_distill_t4_words_nodrop that also distils on
*mixed* training documents: for every training document two more, each the beginning of it spliced
onto the end of another training document (the cut at one random fraction of both, ngjax.distill.augment),
labelled by the 5-run ensemble of beyond_rand128_maxmean and learnt from with the soft term of the
loss only. The teachers have fit the training documents and are nearly certain of their groups, so
their soft targets there say little beyond the labels; on a mixed document they are unsure in ways
that show how they weigh evidence (mixup's argument, and the function matching of Beyer et al.
2022). Only training documents are mixed: the student stays inductive, one network at prediction.

Commands:
    python -m ngjax.distill.teacher --workdirs=RUNS/beyond_rand128_maxmean,RUNS/beyond_rand128_maxmean_seed1,...4 \
        --mix_copies=2 --out=RUNS/teacher_beyond_rand128_maxmean_mix_copies2.npz
    python -m ngjax.main --experiment=beyond_distill_mixed --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean_mix_copies2.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_t4_words_nodrop import CONFIG as BASE
from experiments.ladder.students.beyond_distill_t4_words_nodrop import TEACHER  # noqa: F401 (the driver reads it)

TEACHER_OPTIONS = dict(mix_copies=2)  # two mixed documents per training document, labelled by the teachers
CONFIG = dict(BASE, mixed=True)
