"""beyond_distill_oof_t2 with the out-of-fold probabilities as they are (temperature 1) and weight 0.5:
each training document's targets are half its label, half what a run that never saw it predicts.

Commands: as for beyond_distill_oof_t2 (the same teacher file), with --experiment=beyond_distill_oof_t1.
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_oof_t2 import CONFIG as BASE
from experiments.ladder.students.beyond_distill_oof_t2 import TEACHER, TEACHER_OPTIONS  # noqa: F401 (the driver reads them)

CONFIG = dict(BASE, distill_temperature=1.0, distill_weight=0.5)
