"""The teachers' probabilities for a teacher file (``python -m ngjax.distill.teacher``): finished runs'
averaged probabilities on the training part (``ensemble_probabilities``), out-of-fold ones from
cross-fitted runs (``cross_fitted_probabilities``), on the test texts (``test_probabilities``) and on
mixed documents (``mixed_probabilities``). Each run reads the documents with its own tokenizer,
length and truncation, at its best validation epoch (as ``ngjax.predict`` uses it).
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np

from ngjax.distill import targets as distill
from ngjax.errors import NgjaxError


def ensemble_probabilities(workdirs: Sequence[str], cache_dir: Optional[str] = None, say=print,
                           delete: float = 0.0, passes: int = 1, seed: int = 0, whole_train: bool = False,
                           by_length: bool = False):
    """(averaged probabilities float32[N, C] on the training part, labels int32[N], split dict).
    With ``delete`` > 0 each teacher reads every document ``passes`` times with that fraction of its
    words deleted (fixed by ``seed``), and the probabilities are averaged over the passes too: a
    teacher that has memorised the full documents is less sure of a shortened one, which gives
    soft targets that depend on each document. With ``whole_train`` the targets cover every training
    document in the corpus' order, the teachers' validation part included (documents they selected
    epochs on but never trained on): the file is then for a student trained with --val_fraction=0,
    e.g. the chosen configuration refit on train + validation once its epochs are fixed."""
    from ngjax.data.dataset import load_dataset

    total, labels, split, first = None, None, None, None
    for workdir, run in _load_runs(workdirs, delete, passes, "--workdir=..."):
        here = _split_and_source(run.cfg)
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
            p = _read(run, ds.x_train, delete, rng, by_length)
            if whole_train and ds.x_val is not None:
                p = _in_corpus_order(p, _read(run, ds.x_val, delete, rng, by_length), run.cfg)
            total = p if total is None else total + p
    if whole_train and ds.x_val is not None:
        labels = _in_corpus_order(labels, ds.y_val, run.cfg)
    split.pop("data")
    if whole_train:
        split.update(val_fraction=0.0, val_seed=0)
    return (total / (len(workdirs) * passes)).astype(np.float32), np.asarray(labels, np.int32), split


def _load_runs(workdirs: Sequence[str], delete: float, passes: int, how: str):
    """(workdir, finished run) pairs, each loaded when it is reached (one run's parameters in memory
    at a time), after checking the reading options and that every folder exists; ``how`` completes
    the hint of the error for a missing folder (the flags of the runs wanted)."""
    from ngjax.run.workdir import load_run

    if not 0.0 <= delete < 1.0:
        raise NgjaxError(f"--delete={delete}: must be in [0, 1)")
    if passes < 1 or (passes > 1 and not delete):
        raise NgjaxError(f"--passes={passes}: must be >= 1, and more than one pass needs --delete > 0")
    if not workdirs:
        raise NgjaxError(f"--workdirs: give at least one finished run folder (python -m ngjax.main {how})")
    for workdir in workdirs:
        if not os.path.isdir(workdir):
            raise NgjaxError(f"--workdirs: {workdir}: no such folder; give finished run folders made by "
                             f"python -m ngjax.main {how}")
    return ((workdir, load_run(workdir)) for workdir in workdirs)


def _split_and_source(cfg) -> dict:
    """The training split a run trains on and its data source: what teachers must share."""
    return dict(distill.split_of(cfg), data=os.path.realpath(cfg.data_dir) if cfg.data_dir else None)


def _read(run, x: np.ndarray, delete: float, rng: np.random.Generator, by_length: bool = False) -> np.ndarray:
    """A teacher's probabilities on token ids ``x``, with that fraction of each document's words
    deleted first (drawn from ``rng``) when ``delete`` > 0; ``by_length``: sorted by length, each
    chunk at its own length (``ngjax.run.report.by_length_proba``: equal up to rounding, faster)."""
    from ngjax.run.report import predict_proba

    if delete:
        x = distill.delete_words(x, delete, rng, run.cfg.padding == "pre")
    return predict_proba(run.params, x, run.spec, batch_size=256, by_length=by_length)


def _in_corpus_order(train_part: np.ndarray, val_part: np.ndarray, cfg) -> np.ndarray:
    """Rows of the training and validation parts of ``cfg``'s split put back in the corpus' order
    (that of a run with --val_fraction=0)."""
    n = len(train_part) + len(val_part)
    tr, va = _split_of_corpus(cfg)
    if len(tr) != len(train_part) or len(va) != len(val_part):
        raise NgjaxError(f"the corpus' split ({len(tr)} + {len(va)}) differs from the run's "
                         f"({len(train_part)} + {len(val_part)}); was the data changed since it trained?")
    out = np.empty((n,) + train_part.shape[1:], train_part.dtype)
    out[tr], out[va] = train_part, val_part
    return out


_LABELS: dict = {}


def _corpus_labels(cfg) -> np.ndarray:
    """The corpus' training labels, in its order (read once per data source)."""
    from ngjax.data.corpus import load_corpus

    key = (os.path.realpath(cfg.data_dir) if cfg.data_dir else None, tuple(cfg.remove))
    if key not in _LABELS:
        _LABELS[key] = np.asarray(load_corpus(cfg.data_dir, cfg.remove).labels["train"])
    return _LABELS[key]


def _split_of_corpus(cfg):
    """(train indices, validation indices) of ``cfg``'s split in the corpus' training set."""
    from ngjax.data.dataset import split_indices

    labels = _corpus_labels(cfg)
    if not cfg.val_fraction:
        return np.arange(len(labels)), np.arange(0)
    return split_indices(labels, cfg.val_fraction, cfg.val_seed)


def cross_fitted_probabilities(workdirs: Sequence[str], cache_dir: Optional[str] = None, say=print,
                               delete: float = 0.0, passes: int = 1, seed: int = 0, whole_train: bool = False,
                               by_length: bool = False):
    """Like ``ensemble_probabilities``, from K runs trained with --cv_folds=K, one per --cv_fold: each
    training document's probabilities come from the run that held its fold out, i.e. from a model
    that never saw it (out-of-fold), not from teachers that fit it. The targets are for a student
    on the runs' split without the folds (the whole training part); with ``whole_train`` the
    validation part too (the K runs' average there)."""
    from ngjax.data.dataset import fold_indices, load_dataset

    runs = list(_load_runs(workdirs, delete, passes, "--cv_folds=K --cv_fold=I --workdir=..., one per fold"))
    first, cfg = runs[0][0], runs[0][1].cfg
    k = cfg.cv_folds
    base = _split_and_source(cfg.replace(cv_folds=0, cv_fold=0))
    for workdir, run in runs:
        here = _split_and_source(run.cfg.replace(cv_folds=0, cv_fold=0))
        if not run.cfg.cv_folds or run.cfg.cv_folds != k or here != base:
            raise NgjaxError(f"--cross_fit: {workdir} is not one of {first}'s cross-fitted runs (--cv_folds="
                             f"{run.cfg.cv_folds} vs {k}, split {here} vs {base}); give runs of one --cv_folds=K "
                             "on one split")
    folds = sorted(run.cfg.cv_fold for _, run in runs)
    if folds != list(range(k)):
        raise NgjaxError(f"--cross_fit: the runs hold out folds {folds}; give exactly one run for each of "
                         f"--cv_fold=0..{k - 1}")
    labels = _corpus_labels(cfg)[_split_of_corpus(cfg)[0]]  # the training part, in its order
    held = fold_indices(labels, k, cfg.val_seed)
    probs, val_total = None, None
    for workdir, run in runs:
        ds = load_dataset(run.cfg, cache_dir)
        if not np.array_equal(ds.y_heldout, labels[held[run.cfg.cv_fold]]):
            raise NgjaxError(f"--cross_fit: {workdir}'s held-out documents are not its fold's; was the data "
                             "changed since it trained?")
        say(f"teacher {workdir}: fold {run.cfg.cv_fold} of {k}, epoch {run.epoch}, {len(ds.y_heldout)} "
            "held-out documents", flush=True)
        rng = np.random.default_rng(seed)
        for _ in range(passes):
            p = _read(run, ds.x_heldout, delete, rng, by_length) / passes
            if probs is None:
                probs = np.zeros((len(labels), p.shape[1]), np.float64)
            probs[held[run.cfg.cv_fold]] += p
            if whole_train and ds.x_val is not None:
                pv = _read(run, ds.x_val, delete, rng, by_length) / (passes * k)
                val_total = pv if val_total is None else val_total + pv
    base.pop("data")
    if whole_train and val_total is not None:
        probs = _in_corpus_order(probs, val_total.astype(probs.dtype), cfg)
        labels = _in_corpus_order(labels, ds.y_val, cfg)
        base.update(val_fraction=0.0, val_seed=0)
    return probs.astype(np.float32), np.asarray(labels, np.int32), base


def test_probabilities(workdirs: Sequence[str], cache_dir: Optional[str] = None, say=print,
                       by_length: bool = False) -> np.ndarray:
    """The runs' averaged probabilities float32[N_test, C] on the test texts, each run reading them its
    own way, for a --transductive student (which distils on those texts, unlabeled). The labels of
    the test documents are not read here; the runs must share one data source."""
    from ngjax.data.dataset import load_dataset

    total, source, first = None, None, None
    for workdir, run in _load_runs(workdirs, 0.0, 1, "--workdir=..."):
        here = _split_and_source(run.cfg)["data"]
        if first is None:
            source, first = here, workdir
        elif here != source:
            raise NgjaxError(f"--workdirs: {workdir} read another data source than {first} ({here} vs {source}); "
                             "teachers must share one")
        ds = load_dataset(run.cfg, cache_dir)
        say(f"teacher {workdir}: epoch {run.epoch}, {len(ds.x_test)} test texts (unlabeled)", flush=True)
        p = _read(run, ds.x_test, 0.0, None, by_length)
        if total is not None and p.shape != total.shape:
            raise NgjaxError(f"--workdirs: {workdir} has {p.shape[0]} test documents, {first} {total.shape[0]}")
        total = p.astype(np.float64) if total is None else total + p
    return (total / len(workdirs)).astype(np.float32)


def mixed_probabilities(workdirs: Sequence[str], copies: int, limit: int, seed: int, whole_train: bool,
                        say=print, by_length: bool = False):
    """(mixes int64[M, 5], the runs' averaged probabilities float32[M, C] on those mixed documents):
    ``copies`` mixed documents per training document of the file (``ngjax.distill.augment``), cut within
    the first ``limit`` words, each run reading them with its own tokenizer and length."""
    from ngjax.distill import augment
    from ngjax.data.dataset import training_texts
    from ngjax.run.report import predict_proba

    if copies < 1 or limit < 1:
        raise NgjaxError(f"--mix_copies={copies} / --mix_length={limit}: must be >= 1")
    words, mixes, total, read = None, None, None, {}
    for workdir, run in _load_runs(workdirs, 0.0, 1, "--workdir=..."):
        if mixes is None:  # the documents in the file's order: the training part, or all with --whole_train
            cfg = run.cfg.replace(cv_folds=0, cv_fold=0, **({"val_fraction": 0.0} if whole_train else {}))
            words = augment.word_lists(training_texts(cfg), run.tokenizer)
            mixes = augment.draw(np.array([len(w) for w in words]), copies, limit, seed)
        say(f"teacher {workdir}: {len(mixes)} mixed documents", flush=True)
        # teachers of one configuration share a vocabulary: the mixed texts are tokenised once for them
        key = (run.tokenizer.to_json(), run.cfg.seq_len, run.cfg.padding, run.cfg.truncating)
        if key not in read:
            read[key] = augment.read(words, mixes, run.tokenizer, run.cfg)
        x = read[key]
        p = predict_proba(run.params, x, run.spec, batch_size=256, by_length=by_length).astype(np.float64)
        total = p if total is None else total + p
    return mixes, (total / len(workdirs)).astype(np.float32)
