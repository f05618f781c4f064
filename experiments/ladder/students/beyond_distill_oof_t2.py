"""beyond_distill_t4_words's network taught by **cross-fitted** teachers: 5 runs of
beyond_rand128_maxmean, each trained with one fifth of the training part held out
(--cv_folds=5 --cv_fold=I), label the documents they never saw; every training document's soft
targets come from the one run that held it out (out-of-fold), instead of from 5 runs that all fit
it and are nearly sure of it. Weight 0.7, temperature 2 (the out-of-fold probabilities are soft
already where the documents are hard).

Commands (python -m experiments.ladder trains the 5 cross-fitted runs, writes the teacher file and
sets --teacher):
    for i in 0 1 2 3 4; do
      python -m ngjax.main --experiment=beyond_rand128_maxmean --cv_folds=5 --cv_fold=$i \
          --data_dir=PATH/20news-bydate.tar.gz --workdir=RUNS/beyond_rand128_maxmean_fold$i
    done
    python -m ngjax.distill.teacher --cross_fit --workdirs=RUNS/beyond_rand128_maxmean_fold0,...,RUNS/beyond_rand128_maxmean_fold4 \
        --out=RUNS/teacher_beyond_rand128_maxmean_cross_fit5.npz
    python -m ngjax.main --experiment=beyond_distill_oof_t2 --data_dir=PATH/20news-bydate.tar.gz \
        --teacher=RUNS/teacher_beyond_rand128_maxmean_cross_fit5.npz
Result: experiments/ladder/results/beyond.md.
"""

from experiments.ladder.students.beyond_distill_t4_words import CONFIG as BASE

TEACHER = "beyond_rand128_maxmean"  # the configuration whose cross-fitted runs are the teachers
TEACHER_OPTIONS = {"cross_fit": 5}
CONFIG = dict(BASE, distill_temperature=2.0)
