"""Distillation targets: a teacher file holds an ensemble's averaged probabilities for every
training document, and a student run (``--teacher=FILE``) learns from them beside the labels.

    python -m ngjax.teacher --workdirs=runs/a,runs/a_seed1,... --out=teacher.npz
    python -m ngjax.main --experiment=... --teacher=teacher.npz --distill_weight=0.5

The teachers are finished runs (each at its best validation epoch, as ``ngjax.predict`` uses
it) that share one training split: the same data source, removed parts, --val_fraction and
--val_seed, so the i-th training document is the same text for all of them and for the student
(their vocabularies and lengths may differ: each teacher reads the documents its own way). The
file records that split and the labels, and a student whose split differs is refused.

The student's loss is ``w * T^2 * CE(q_T, softmax(z / T)) + (1 - w) * CE(labels, softmax(z))``
with ``q_T`` the teacher's probabilities to the power 1/T, renormalised (Hinton et al. 2015);
its reported training loss and accuracy stay those of the labels. Validation and test never see
the teacher, so selection and results stay as for any run.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np

from ngjax import distill
from ngjax.errors import NgjaxError


def ensemble_probabilities(workdirs: Sequence[str], cache_dir: Optional[str] = None, say=print,
                           delete: float = 0.0, passes: int = 1, seed: int = 0):
    """(averaged probabilities float32[N, C] on the training part, labels int32[N], split dict).
    With ``delete`` > 0 each teacher reads every document ``passes`` times with that fraction of its
    words deleted (fixed by ``seed``), and the probabilities are averaged over the passes too: a
    teacher that has memorised the full documents is less sure of a shortened one, which gives
    soft targets that depend on each document."""
    if not 0.0 <= delete < 1.0:
        raise NgjaxError(f"--delete={delete}: must be in [0, 1)")
    if passes < 1 or (passes > 1 and not delete):
        raise NgjaxError(f"--passes={passes}: must be >= 1, and more than one pass needs --delete > 0")
    from ngjax.data import load_dataset
    from ngjax.report import predict_proba
    from ngjax.workdir import load_run

    if not workdirs:
        raise NgjaxError("--workdirs: give at least one finished run folder")
    total, labels, split, first = None, None, None, None
    for workdir in workdirs:
        if not os.path.isdir(workdir):
            raise NgjaxError(f"--workdirs: {workdir}: no such folder; give finished run folders made by "
                             "python -m ngjax.main --workdir=...")
        run = load_run(workdir)
        here = dict(distill.split_of(run.cfg), data=os.path.realpath(run.cfg.data_dir) if run.cfg.data_dir else None)
        if split is None:
            split, first = here, workdir
        elif here != split:
            raise NgjaxError(f"--workdirs: {workdir} was trained on another split or data source than {first} "
                             f"({here} vs {split}); teachers must share one training split")
        ds = load_dataset(run.cfg, cache_dir)
        if labels is not None and not np.array_equal(labels, ds.y_train):
            raise NgjaxError(f"--workdirs: {workdir}'s training labels differ from {first}'s")
        labels = ds.y_train
        say(f"teacher {workdir}: epoch {run.epoch}, {len(labels)} training documents", flush=True)
        rng = np.random.default_rng(seed)
        for _ in range(passes):
            x = distill.delete_words(ds.x_train, delete, rng, run.cfg.padding == "pre") if delete else ds.x_train
            p = predict_proba(run.params, x, run.spec, batch_size=256)
            total = p if total is None else total + p
    split.pop("data")
    return (total / (len(workdirs) * passes)).astype(np.float32), np.asarray(labels, np.int32), split


def main(argv) -> int:
    from absl import flags

    FLAGS = flags.FLAGS
    if len(argv) > 1:
        raise NgjaxError(f"unexpected arguments {argv[1:]}; use --workdirs=RUN,RUN --out=FILE")
    if not FLAGS.out:
        raise NgjaxError("--out: give the teacher file to write (e.g. teacher.npz)")
    probs, labels, split = ensemble_probabilities(FLAGS.workdirs, FLAGS.cache_dir, delete=FLAGS.delete,
                                                  passes=FLAGS.passes, seed=FLAGS.seed)
    distill.write(FLAGS.out, probs, labels, split, FLAGS.workdirs, delete=FLAGS.delete, passes=FLAGS.passes)
    acc = float((probs.argmax(-1) == labels).mean())
    print(f"wrote {FLAGS.out}: {len(FLAGS.workdirs)} teacher(s), {len(labels)} training documents, "
          f"ensemble training accuracy {acc:.4f}")
    return 0


def _define_flags() -> None:
    from absl import flags

    flags.DEFINE_list("workdirs", [], "Finished run folders whose averaged probabilities are the targets.")
    flags.DEFINE_string("out", None, "Teacher file to write (.npz).")
    flags.DEFINE_string("cache_dir", None, "Token cache folder (default: ngjax's).")
    flags.DEFINE_float("delete", 0.0, "Fraction of each document's words deleted before the teachers read it "
                       "(0 = the documents as trained on).")
    flags.DEFINE_integer("passes", 1, "With --delete: passes over the documents (each its own deletions), averaged.")
    flags.DEFINE_integer("seed", 0, "Seed of the deletions.")


if __name__ == "__main__":
    from ngjax import cli

    _define_flags()
    cli.run(main)
