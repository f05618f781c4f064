"""Candidate (tried on validation, second distillation generation): beyond_distill_mixed_lin's settings,
taught by the 5-run ensemble of beyond_distill_mixed_lin itself (its final seeds; their ensemble is
the strongest set of networks trained so far) and, as before, a TF-IDF + logistic regression member
of whole documents at weight 1/6, on the training documents and on 2 mixed documents per training
document. Tried only when beyond_distill_mixed_lin is the chosen (or a compared) model; the ladder
writes RUNS/teacher_beyond_distill_mixed_lin_linear_weight0.166667_mix_copies2.npz from those runs.

Commands:
    python -m ngjax.distill.teacher --workdirs=RUNS/beyond_distill_mixed_lin,RUNS/beyond_distill_mixed_lin_seed1,...4 \
        --mix_copies=2 --linear_weight=0.166667 \
        --out=RUNS/teacher_beyond_distill_mixed_lin_linear_weight0.166667_mix_copies2.npz
    python -m ngjax.main --experiment=beyond_distill_mixed_lin_gen2 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_distill_mixed_lin_linear_weight0.166667_mix_copies2.npz
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_mixed_lin import CONFIG as BASE
from experiments.ladder.students.beyond_distill_mixed_lin import TEACHER_OPTIONS  # noqa: F401 (the driver reads it)

TEACHER = "beyond_distill_mixed_lin"  # the configuration whose final seeds are the teachers
CONFIG = dict(BASE)
