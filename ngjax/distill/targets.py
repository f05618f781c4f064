"""Distillation targets: the teacher file's format, and the soft targets a student run
(``--teacher=FILE``) reads from it. ``python -m ngjax.distill.teacher`` writes the file;
``ngjax.distill.plugin`` puts the targets in the student's batches and its loss. See
``ngjax.distill.teacher`` for the whole story.
"""

from __future__ import annotations

import dataclasses
import io
import os
import zipfile
from typing import Optional, Sequence

import numpy as np

from ngjax.errors import NgjaxError

KIND = "ngjax-teacher-1"


@dataclasses.dataclass
class Targets:
    """What a student distils on: soft targets (at its temperature) for its training part, and
    optionally for the test texts (--transductive) and for mixed training documents (--mixed)."""

    train: np.ndarray  # float32[N, C]
    test: Optional[np.ndarray] = None  # float32[N_test, C]
    mixes: Optional[np.ndarray] = None  # int64[M, 5], see ngjax.distill.augment
    mixed: Optional[np.ndarray] = None  # float32[M, C]


def split_of(cfg) -> dict:
    """The training split a run trains on (the seed of a split matters only when there is one)."""
    split = {"val_fraction": float(cfg.val_fraction), "val_seed": int(cfg.val_seed) if cfg.val_fraction else 0,
             "remove": ",".join(cfg.remove)}
    if cfg.cv_folds:  # a run with a fold held out trains on less than the training part
        split.update(cv_folds=int(cfg.cv_folds), cv_fold=int(cfg.cv_fold))
    return split


def delete_words(x: np.ndarray, p: float, rng: np.random.Generator, pre_padded: bool) -> np.ndarray:
    """Token ids int32[N, T] with each real token deleted with probability ``p``; the kept ones close
    up in order and the padding stays on its side (the document is simply shorter)."""
    keep = (x != 0) & (rng.random(x.shape) >= p)
    kept = np.where(keep, x, 0)
    # a stable sort of the keep flags moves the kept tokens to the end (pre) or the front (post) in order
    order = np.argsort(keep if pre_padded else ~keep, axis=1, kind="stable")
    return np.take_along_axis(kept, order, axis=1)


def write(path: str, probs: np.ndarray, labels: np.ndarray, split: dict, members: Sequence[str],
          delete: float = 0.0, passes: int = 1, whole_train: bool = False, cross_fit: bool = False,
          test_probs: Optional[np.ndarray] = None, mixes: Optional[np.ndarray] = None,
          mix_probs: Optional[np.ndarray] = None, linear: Optional[dict] = None) -> None:
    """The teacher file: probabilities, labels and split, and how it was made (the runs, the deletions,
    whether the teachers' validation part is included, whether the runs were cross-fitted); with
    ``test_probs`` also the ensemble's probabilities on the test texts (for --transductive students);
    with ``mixes`` (``ngjax.distill.augment``) its probabilities ``mix_probs`` on those mixed documents (--mixed);
    ``linear``: the linear member blended into all of them ({weight, C, val_accuracy}), if any."""
    from ngjax.files import atomic_write

    buf = io.BytesIO()
    extra = {} if test_probs is None else {"test_probs": np.asarray(test_probs, np.float32)}
    if mixes is not None:
        extra.update(mix_index=np.asarray(mixes, np.int64), mix_probs=np.asarray(mix_probs, np.float32))
    if linear:
        extra.update({f"linear_{k}": np.array(float(v)) for k, v in linear.items()})
    np.savez(buf, kind=np.array(KIND), probs=probs, labels=labels, members=np.array(list(members)),
             delete=np.array(float(delete)), passes=np.array(int(passes)),
             whole_train=np.array(bool(whole_train)), cross_fit=np.array(bool(cross_fit)), **extra,
             **{k: np.array(v) for k, v in split.items()})
    atomic_write(path, buf.getvalue())


def load_targets(path: str, cfg, labels: np.ndarray, num_test: int) -> Targets:
    """The teacher's probabilities at --distill_temperature for the student's training part, with
    --transductive also for the unlabeled test texts, with --mixed also the mixed documents and
    theirs. Errors name the file and the fix."""
    if not os.path.isfile(path):
        raise NgjaxError(f"--teacher={path}: no such file; write one with python -m ngjax.distill.teacher "
                         "--workdirs=RUN[,RUN...] --out=FILE")
    try:
        with np.load(path, allow_pickle=False) as f:
            got = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):  # text, another binary, truncated: numpy's
        # own words would suggest loading it unsafely (allow_pickle), which is never the fix here
        raise NgjaxError(f"--teacher={path}: not a teacher file (an .npz written by python -m "
                         "ngjax.distill.teacher), or a damaged one; write it again with python -m ngjax.distill.teacher "
                         "--workdirs=RUN[,RUN...] --out=FILE") from None
    missing = {"kind", "probs", "labels", "val_fraction", "val_seed", "remove"} - set(got)
    if missing or str(got["kind"]) != KIND:
        raise NgjaxError(f"--teacher={path}: not an ngjax teacher file"
                         f"{f' (no {sorted(missing)})' if missing else ''}; write one with python -m ngjax.distill.teacher")
    want = split_of(cfg)
    have = {"val_fraction": float(got["val_fraction"]), "val_seed": int(got["val_seed"]), "remove": str(got["remove"])}
    if have != want or not np.array_equal(got["labels"], labels):
        whole = (" (a student on train + validation, --val_fraction=0, needs a teacher file written with "
                 "python -m ngjax.distill.teacher --whole_train)" if not want["val_fraction"] and have["val_fraction"]
                 else "")
        raise NgjaxError(f"--teacher={path}: its teachers were trained on another training split ({have}) than "
                         f"this run's ({want}); use the teacher's --val_fraction/--val_seed/--remove or "
                         f"write a teacher file for this split{whole}")
    probs = np.asarray(got["probs"], np.float64)
    if probs.ndim != 2 or probs.shape[0] != len(labels):
        raise NgjaxError(f"--teacher={path}: probabilities of shape {probs.shape} for {len(labels)} documents")
    targets = Targets(soften(probs, cfg.distill_temperature))
    if cfg.mixed:
        targets.mixes, targets.mixed = _mixed(path, got, len(labels), probs.shape[1], cfg.distill_temperature)
    if not cfg.transductive:
        return targets
    if "test_probs" not in got:
        raise NgjaxError(f"--teacher={path}: has no probabilities on the test texts, which --transductive distils "
                         "on; write it with python -m ngjax.distill.teacher --transductive, or drop --transductive")
    test = np.asarray(got["test_probs"], np.float64)
    if test.shape != (num_test, probs.shape[1]):
        raise NgjaxError(f"--teacher={path}: test probabilities of shape {test.shape} for {num_test} test "
                         "documents; write it again from this data with python -m ngjax.distill.teacher --transductive")
    targets.test = soften(test, cfg.distill_temperature)
    return targets


def _mixed(path: str, got: dict, num_docs: int, num_classes: int, temperature: float):
    """(mix table, softened probabilities) of a teacher file, checked."""
    from ngjax.distill import augment

    if "mix_index" not in got or "mix_probs" not in got:
        raise NgjaxError(f"--teacher={path}: has no mixed documents, which --mixed distils on; write it with "
                         "python -m ngjax.distill.teacher --mix_copies=K, or drop --mixed")
    mixes, probs = np.asarray(got["mix_index"], np.int64), np.asarray(got["mix_probs"], np.float64)
    wrong = augment.check(mixes, num_docs)
    if not wrong and probs.shape != (len(mixes), num_classes):
        wrong = f"mixed-document probabilities of shape {probs.shape} for {len(mixes)} mixes"
    if wrong:
        raise NgjaxError(f"--teacher={path}: {wrong}; write it again with python -m ngjax.distill.teacher --mix_copies=K")
    return mixes, soften(probs, temperature)


def soften(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``p^(1/T)`` renormalised (softmax of log p / T), float32."""
    logits = np.log(np.maximum(probs, 1e-12)) / float(temperature)
    logits -= logits.max(axis=1, keepdims=True)
    q = np.exp(logits)
    return (q / q.sum(axis=1, keepdims=True)).astype(np.float32)


