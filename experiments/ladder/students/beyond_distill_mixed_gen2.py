"""Candidate (tried on validation, second distillation generation): beyond_distill_mixed's settings,
taught by the 5-run ensemble of beyond_distill_mixed itself (its final seeds), on the training
documents and on 2 mixed documents per training document labelled by those 5 runs. Its teachers
are each much stronger than beyond_rand128_maxmean's runs (test 0.857 against 0.822 for one run),
though their ensemble is not (they learnt from the same teachers). Tried only when
beyond_distill_mixed is the chosen (or a compared) model; the ladder writes
RUNS/teacher_beyond_distill_mixed_mix_copies2.npz from those runs.

Commands:
    python -m ngjax.distill.teacher --workdirs=RUNS/beyond_distill_mixed,RUNS/beyond_distill_mixed_seed1,...4 \
        --mix_copies=2 --out=RUNS/teacher_beyond_distill_mixed_mix_copies2.npz
    python -m ngjax.main --experiment=beyond_distill_mixed_gen2 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_distill_mixed_mix_copies2.npz
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_mixed import CONFIG as BASE

TEACHER = "beyond_distill_mixed"  # the configuration whose final seeds are the teachers
TEACHER_OPTIONS = dict(mix_copies=2)
CONFIG = dict(BASE)
