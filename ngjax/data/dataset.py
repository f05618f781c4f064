"""20 Newsgroups -> Keras-compatible token ids -> int32 [N, seq_len] arrays, cached on disk.

The corpus (``ngjax.data.corpus``) is split (an optional stratified validation split), a Keras
``Tokenizer`` (``ngjax.data.tokenizer``) is fit on the training texts, and the ragged token lists are
cached under a key of every option that changes them; padding is applied after the cache.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import List, Optional, Tuple

import numpy as np

from ngjax import files
from ngjax.config import Config
from ngjax.data.corpus import load_corpus, load_local
from ngjax.data.tokenizer import Tokenizer, pad_sequences

CACHE_VERSION = 2  # bump when anything below changes what the cached arrays hold

@dataclasses.dataclass
class Dataset:
    """Token arrays for one run. x_*: int32 [N, seq_len]; y_*: int32 [N]."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_val: Optional[np.ndarray]
    y_val: Optional[np.ndarray]
    target_names: List[str]
    tokenizer: Tokenizer
    test_heads: Optional[List[str]] = None  # first lines of each test document (for samples)
    x_heldout: Optional[np.ndarray] = None  # with --cv_folds: the training part's fold held out
    y_heldout: Optional[np.ndarray] = None

    @property
    def num_classes(self) -> int:
        return len(self.target_names)


def _source_id(data_dir: Optional[str]) -> dict:
    if data_dir is None:
        return {"source": "sklearn"}
    path = os.path.abspath(data_dir)
    if not os.path.exists(path):
        load_local(data_dir)  # raises the one-line "no such file or folder" error
    st = os.stat(path)
    return {"source": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cache_key(cfg: Config) -> str:
    """Hash of every option that changes the token ids (padding is applied after the cache)."""
    parts = dict(_source_id(cfg.data_dir), remove=list(cfg.remove), num_words=cfg.num_words,
                 val_fraction=cfg.val_fraction, val_seed=cfg.val_seed, version=CACHE_VERSION)
    if cfg.cv_folds:  # (absent otherwise: the keys of caches made before the option stay valid)
        parts.update(cv_folds=cfg.cv_folds, cv_fold=cfg.cv_fold)
    return files.cache_key(parts)


def default_cache_dir() -> str:
    return os.environ.get("NGJAX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "ngjax"))


def _flatten(seqs: List[List[int]]) -> Tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.fromiter((i for s in seqs for i in s), dtype=np.int32, count=int(offsets[-1]))
    return flat, offsets


def _unflatten(flat: np.ndarray, offsets: np.ndarray) -> List[np.ndarray]:
    return [flat[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def split_indices(labels: np.ndarray, fraction: float, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    train_idx, val_idx = train_test_split(idx, test_size=fraction, random_state=seed,
                                          stratify=labels)
    return np.sort(train_idx), np.sort(val_idx)


def fold_indices(labels: np.ndarray, folds: int, seed: int) -> List[np.ndarray]:
    """Indices (sorted) of each of ``folds`` stratified folds of a training part, seeded."""
    from sklearn.model_selection import StratifiedKFold

    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [np.sort(out) for _, out in cv.split(np.zeros(len(labels)), labels)]


def text_head(text: str, lines: int = 3, chars: int = 240) -> str:
    """The first non-empty lines of a document, joined with ' / ' (for sample listings)."""
    kept = [l.strip() for l in text.splitlines() if l.strip()][:lines]
    out = " / ".join(kept)
    return out if len(out) <= chars else out[: chars - 3] + "..."


def training_texts(cfg: Config) -> List[str]:
    """The texts of ``cfg``'s training part, in the order of its ``x_train`` rows."""
    return split_texts(cfg)["train"][0]


def split_texts(cfg: Config) -> dict:
    """{part: (texts, labels)} of ``cfg``'s split of the corpus' training set, each in the order of
    its rows: "train", "val" with --val_fraction, "heldout" with --cv_folds."""
    return _parts(load_corpus(cfg.data_dir, cfg.remove), cfg)


def _parts(corpus, cfg: Config) -> dict:
    """{part: (texts, labels)} of ``cfg``'s split of the corpus' training set: "train", and "val"
    with --val_fraction, "heldout" with --cv_folds (the test set is not split)."""
    train_texts, y_train = corpus.texts["train"], corpus.labels["train"]
    parts = {}
    if cfg.val_fraction > 0:
        tr, va = split_indices(y_train, cfg.val_fraction, cfg.val_seed)
        val_texts = [train_texts[i] for i in va]
        train_texts = [train_texts[i] for i in tr]
        parts["val"] = (val_texts, y_train[va])
        y_train = y_train[tr]
    if cfg.cv_folds:
        out = fold_indices(y_train, cfg.cv_folds, cfg.val_seed)[cfg.cv_fold]
        held = np.zeros(len(y_train), bool)
        held[out] = True
        parts["heldout"] = ([train_texts[i] for i in out], y_train[out])
        train_texts, y_train = [t for t, h in zip(train_texts, held) if not h], y_train[~held]
    parts["train"] = (train_texts, y_train)
    return parts


def _tokenize(cfg: Config) -> dict:
    corpus = load_corpus(cfg.data_dir, cfg.remove)
    parts = _parts(corpus, cfg)
    train_texts = parts["train"][0]
    parts["test"] = (corpus.texts["test"], corpus.labels["test"])
    tok = Tokenizer(num_words=cfg.num_words).fit_on_texts(train_texts)
    arrays = {"target_names": json.dumps(corpus.target_names), "tokenizer": tok.to_json(),
              "test_heads": json.dumps([text_head(t) for t in corpus.texts["test"]])}
    for name, (texts, ys) in parts.items():
        flat, offsets = _flatten(tok.texts_to_sequences(texts, desc=f"tokenising {name}"))
        arrays[f"{name}_flat"], arrays[f"{name}_offsets"] = flat, offsets
        arrays[f"{name}_y"] = np.asarray(ys, dtype=np.int32)
    return arrays


def load_dataset(cfg: Config, cache_dir: Optional[str] = None) -> Dataset:
    """Token arrays for ``cfg``; tokenised once per cache key, padded here (cheap)."""
    cache_dir = cache_dir or default_cache_dir()
    path = os.path.join(cache_dir, f"tokens-{cache_key(cfg)}.npz")
    arrays = files.cached_arrays(path, lambda: _tokenize(cfg), "token")
    tok = Tokenizer.from_json(str(arrays["tokenizer"]))

    def padded(name):
        seqs = _unflatten(arrays[f"{name}_flat"], arrays[f"{name}_offsets"])
        return pad_sequences(seqs, cfg.seq_len, cfg.padding, cfg.truncating)

    has_val, has_heldout = "val_flat" in arrays, "heldout_flat" in arrays
    return Dataset(
        x_train=padded("train"), y_train=arrays["train_y"],
        x_test=padded("test"), y_test=arrays["test_y"],
        x_val=padded("val") if has_val else None, y_val=arrays["val_y"] if has_val else None,
        target_names=json.loads(str(arrays["target_names"])), tokenizer=tok,
        test_heads=json.loads(str(arrays["test_heads"])),
        x_heldout=padded("heldout") if has_heldout else None, y_heldout=arrays["heldout_y"] if has_heldout else None,
    )
