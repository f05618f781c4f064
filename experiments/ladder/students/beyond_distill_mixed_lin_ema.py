"""The chosen model (chosen on validation with 3 seeds per student, experiments/ladder/results/beyond_followup2.md;
first tried with one seed, where it did not beat beyond_distill_mixed_lin): beyond_distill_mixed_lin whose evaluated weights are the
moving average of its training weights (``--ema_decay=0.998``, bias-corrected: about the last 500 steps,
one epoch of its 477 steps on training and mixed documents). Training follows the raw weights as before;
validation, the best-validation checkpoint, test, prediction and the teacher files read the average.
Averaging the last steps of a run is an old remedy (Polyak averaging) for the noise of the step-to-step
weights, which a run that selects its epoch early (4-6 of the student's epochs) carries into its result.
Commands:
    python -m ngjax.distill.teacher --workdirs=RUNS/beyond_rand128_maxmean,RUNS/beyond_rand128_maxmean_seed1,...4 \
        --mix_copies=2 --linear_weight=0.166667 \
        --out=RUNS/teacher_beyond_rand128_maxmean_linear_weight0.166667_mix_copies2.npz
    python -m ngjax.main --experiment=beyond_distill_mixed_lin_ema --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean_linear_weight0.166667_mix_copies2.npz
(python -m experiments.ladder writes the teacher file from the final seeds and sets --teacher.)
Results: experiments/ladder/results/beyond_followup.md (one seed), experiments/ladder/results/beyond_followup2.md (3 seeds
while choosing, then 5 seeds and the refit on train + validation).
"""

from experiments.ladder.students.beyond_distill_mixed_lin import CONFIG as BASE
from experiments.ladder.students.beyond_distill_mixed_lin import TEACHER, TEACHER_OPTIONS  # noqa: F401 (the driver reads them)

CONFIG = dict(BASE, ema_decay=0.998)
