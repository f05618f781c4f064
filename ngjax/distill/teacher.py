"""Distillation targets: a teacher file holds an ensemble's averaged probabilities for every
training document, and a student run (``--teacher=FILE``) learns from them beside the labels.

    python -m ngjax.distill.teacher --workdirs=runs/a,runs/a_seed1,... --out=teacher.npz
    python -m ngjax.main --experiment=... --teacher=teacher.npz --distill_weight=0.5

The teachers are finished runs (each at its best validation epoch, as ``ngjax.predict`` uses
it) that share one training split: the same data source, removed parts, --val_fraction and
--val_seed, so the i-th training document is the same text for all of them and for the student
(their vocabularies and lengths may differ: each teacher reads the documents its own way). The
file records that split and the labels, and a student whose split differs is refused.

Two more ways to make the file: ``--whole_train`` also covers the teachers' validation part (for a
student trained on train + validation with --val_fraction=0, once validation has fixed its
epochs); ``--cross_fit`` takes K runs trained with --cv_folds=K, one per held-out --cv_fold, and
gives each training document the probabilities of the run that never saw it (out-of-fold).
With ``--transductive`` the file also holds the runs' averaged probabilities on the test texts: a
student run with ``--transductive`` then distils on those texts as well, unlabeled (only the soft
term of the loss; the test labels are never read). Such a student has seen the test documents, so
its test accuracy is a transductive result (as TextGCN's, whose graph holds the test documents),
not comparable with an inductive one. With ``--mix_copies=K`` the file also holds K mixed documents
per training document (one document's beginning spliced onto another's end, ``ngjax.distill.augment``) and
the runs' averaged probabilities on them: a student run with ``--mixed`` distils on those as well,
unlabeled; they are made of training documents only, so the student stays inductive. With
``--linear_weight=W`` every target (training, mixed and test documents) blends in, at weight W, a
TF-IDF + logistic regression member fit on the runs' training part (``ngjax.distill.linear``): a teacher
that reads whole documents as bags of words, and errs differently from the recurrent runs.

The student's loss is ``w * T^2 * CE(q_T, softmax(z / T)) + (1 - w) * CE(labels, softmax(z))``
with ``q_T`` the teacher's probabilities to the power 1/T, renormalised (Hinton et al. 2015);
its reported training loss and accuracy stay those of the labels. Validation and test never see
the teacher, so selection and results stay as for any run.
"""

from __future__ import annotations

import os

from ngjax.distill import targets as distill, linear
from ngjax.distill.ensemble import (cross_fitted_probabilities, ensemble_probabilities, mixed_probabilities,
                                    test_probabilities)
from ngjax.config import ConfigError
from ngjax.errors import NgjaxError


def main(argv) -> int:
    from absl import flags

    FLAGS = flags.FLAGS
    check_options(argv, FLAGS)
    made = write_file(FLAGS.workdirs, FLAGS.out, FLAGS.cache_dir, cross_fit=FLAGS.cross_fit, delete=FLAGS.delete,
                      passes=FLAGS.passes, seed=FLAGS.seed, whole_train=FLAGS.whole_train,
                      transductive=FLAGS.transductive, mix_copies=FLAGS.mix_copies, mix_length=FLAGS.mix_length,
                      linear_weight=FLAGS.linear_weight, linear_c=FLAGS.linear_c)
    print(f"wrote {FLAGS.out}: {len(FLAGS.workdirs)} teacher(s), {made['documents']} training documents, "
          f"{'out-of-fold' if FLAGS.cross_fit else 'ensemble training'} accuracy {made['accuracy']:.4f}")
    return 0


def write_file(workdirs, out: str, cache_dir=None, *, cross_fit: bool = False, delete: float = 0.0, passes: int = 1,
               seed: int = 0, whole_train: bool = False, transductive: bool = False, mix_copies: int = 0,
               mix_length: int = 400, linear_weight: float = 0.0, linear_c=linear.DEFAULT_CS,
               by_length: bool = False) -> dict:
    """Write the teacher file ``out`` of the finished runs ``workdirs`` (the options as the flags of
    this command); returns {documents, accuracy (of the targets' argmax on the labels)}. ``by_length``:
    the runs read the documents sorted by length (``ngjax.run.report.by_length_proba``: the same
    probabilities up to rounding, faster; the recipe's fast path; this command reads as the committed
    teacher files were read)."""
    make = cross_fitted_probabilities if cross_fit else ensemble_probabilities
    probs, labels, split = make(workdirs, cache_dir, delete=delete, passes=passes, seed=seed,
                                whole_train=whole_train, by_length=by_length)
    test = test_probabilities(workdirs, cache_dir, by_length=by_length) if transductive else None
    mixes, mix_probs = None, None
    if mix_copies:
        mixes, mix_probs = mixed_probabilities(workdirs, mix_copies, mix_length, seed, whole_train,
                                               by_length=by_length)
        if len(mixes) != mix_copies * len(labels):
            raise NgjaxError(f"--mix_copies: {len(mixes)} mixed documents for {len(labels)} training documents; "
                             "was the data changed since the runs trained?")
    member = None
    if linear_weight:
        probs, test, mix_probs, member = linear.blend_into(workdirs, linear_weight, linear_c, whole_train, probs,
                                                           labels, test, mixes, mix_probs)
    distill.write(out, probs, labels, split, workdirs, delete=delete, passes=passes, whole_train=whole_train,
                  cross_fit=cross_fit, test_probs=test, mixes=mixes, mix_probs=mix_probs, linear=member)
    return {"documents": int(len(labels)), "accuracy": float((probs.argmax(-1) == labels).mean())}


def check_options(argv, FLAGS) -> None:
    """Every option checked before any run is read (ConfigError: exit code 2)."""
    if len(argv) > 1:
        raise ConfigError(f"unexpected arguments {argv[1:]}; use --workdirs=RUN,RUN --out=FILE")
    if not FLAGS.out or not FLAGS.out.strip():
        raise ConfigError("--out: give the teacher file to write (e.g. teacher.npz)")
    if not FLAGS.workdirs:
        raise ConfigError("--workdirs: give at least one finished run folder whose probabilities are the targets "
                          "(--workdirs=RUN[,RUN...])")
    seen = {}
    for w in FLAGS.workdirs:
        key = os.path.realpath(w)
        if key in seen:
            raise ConfigError(f"--workdirs names one run twice ({seen[key]} and {w}); each teacher once")
        seen[key] = w
    if FLAGS.mix_copies < 0 or FLAGS.mix_length < 1:
        raise ConfigError(f"--mix_copies={FLAGS.mix_copies} / --mix_length={FLAGS.mix_length}: must be >= 0 / >= 1")
    if not 0.0 <= FLAGS.delete < 1.0 or FLAGS.passes < 1:
        raise ConfigError(f"--delete={FLAGS.delete} / --passes={FLAGS.passes}: must be in [0, 1) / >= 1")
    try:
        linear.check(FLAGS.linear_weight, FLAGS.cross_fit, FLAGS.linear_c)
    except NgjaxError as e:
        raise ConfigError(str(e)) from None


def _define_flags() -> None:
    from absl import flags

    flags.DEFINE_list("workdirs", [], "Finished run folders whose averaged probabilities are the targets.")
    flags.DEFINE_string("out", None, "Teacher file to write (.npz).")
    flags.DEFINE_string("cache_dir", None, "Token cache folder (default: ngjax's).")
    flags.DEFINE_float("delete", 0.0, "Fraction of each document's words deleted before the teachers read it "
                       "(0 = the documents as trained on).")
    flags.DEFINE_integer("passes", 1, "With --delete: passes over the documents (each its own deletions), averaged.")
    flags.DEFINE_integer("seed", 0, "Seed of the deletions.")
    flags.DEFINE_bool("cross_fit", False, "The runs are K runs of --cv_folds=K, one per --cv_fold: each training "
                      "document's targets come from the run that held it out (out-of-fold), not from an average.")
    flags.DEFINE_bool("whole_train", False, "Targets for every training document, the teachers' validation part "
                      "included (for a student trained on train + validation with --val_fraction=0).")
    flags.DEFINE_integer("mix_copies", 0, "Also write K mixed documents per training document (the beginning of one "
                         "spliced onto the end of another, see ngjax.distill.augment) and the runs' averaged probabilities on "
                         "them, for a student run with --mixed (0 = none).")
    flags.DEFINE_integer("mix_length", 400, "With --mix_copies: the cut falls within each document's first N words.")
    flags.DEFINE_float("linear_weight", 0.0, "Blend a TF-IDF + logistic regression member (ngjax.distill.linear, fit on the runs' "
                       "training part, whole documents) into every target at this weight (0 = none).")
    flags.DEFINE_list("linear_c", [f"{c:g}" for c in linear.DEFAULT_CS], "With --linear_weight: C values of the "
                      "linear member, one chosen on the runs' validation part.")
    flags.DEFINE_bool("transductive", False, "Also write the runs' averaged probabilities on the test texts, for a "
                      "student run with --transductive (it distils on those texts, unlabeled; a transductive result).")


if __name__ == "__main__":
    from ngjax import cli

    _define_flags()
    cli.run(main)
