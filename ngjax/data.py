"""20 Newsgroups texts -> Keras-compatible token ids -> int32 [N, seq_len] arrays.

Sources: scikit-learn's ``fetch_20newsgroups`` (its cache and download), or a local bydate
archive (``20news-bydate.tar.gz``) or its extracted folder via ``--data_dir``. Both give the
same documents in the same order as scikit-learn (``load_files`` then ``fetch_20newsgroups``
shuffles), so a tokenizer fit here matches one fit on ``fetch_20newsgroups(...).data``.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import operator
import os
import tarfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from absl import logging

from ngjax.config import Config
from ngjax.errors import NgjaxError
from ngjax.progress import progress

# Keras' Tokenizer defaults (keras.preprocessing.text.Tokenizer).
KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
SUBSETS = ("train", "test")
_FOLDERS = {"train": "20news-bydate-train", "test": "20news-bydate-test"}
CACHE_VERSION = 2  # bump when anything below changes what the cached arrays hold


# ----------------------------------------------------------------------------- tokenizer
class Tokenizer:
    """Keras ``Tokenizer(num_words, filters, lower=True, split=' ')`` without ``oov_token``.

    ``word_index`` ranks words by descending training count; ties keep first-seen order (a
    stable sort, as Keras does). ``texts_to_sequences`` keeps indices ``< num_words`` and drops
    the rest, and drops unknown words.
    """

    def __init__(self, num_words: Optional[int] = None, filters: str = KERAS_FILTERS,
                 lower: bool = True, split: str = " "):
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self._table = str.maketrans({c: split for c in filters})
        self.words: List[str] = []  # words[i - 1] has index i
        self.word_index: Dict[str, int] = {}

    def text_to_word_sequence(self, text: str) -> List[str]:
        if self.lower:
            text = text.lower()
        return [w for w in text.translate(self._table).split(self.split) if w]

    def fit_on_texts(self, texts: Sequence[str], desc: str = "fitting tokenizer") -> "Tokenizer":
        counts: collections.Counter = collections.Counter()
        for text in progress(texts, len(texts), desc):
            counts.update(self.text_to_word_sequence(text))
        # Counter keeps first-seen order; sorted() is stable, so ties stay in that order.
        ranked = sorted(counts.items(), key=operator.itemgetter(1), reverse=True)
        self.words = [w for w, _ in ranked]
        self.word_index = {w: i for i, w in enumerate(self.words, 1)}
        return self

    def texts_to_sequences(self, texts: Sequence[str], desc: str = "tokenising") -> List[List[int]]:
        limit = self.num_words or (len(self.words) + 1)
        index = self.word_index
        out = []
        for text in progress(texts, len(texts), desc):
            ids = (index.get(w) for w in self.text_to_word_sequence(text))
            out.append([i for i in ids if i is not None and i < limit])
        return out

    @property
    def vocab_size(self) -> int:
        """Number of distinct training words (the Keras ``len(word_index)``)."""
        return len(self.words)

    def to_json(self) -> str:
        return json.dumps({"num_words": self.num_words, "filters": self.filters,
                           "lower": self.lower, "split": self.split, "words": self.words})

    @classmethod
    def from_json(cls, text: str) -> "Tokenizer":
        d = json.loads(text)
        tok = cls(d["num_words"], d["filters"], d["lower"], d["split"])
        tok.words = list(d["words"])
        tok.word_index = {w: i for i, w in enumerate(tok.words, 1)}
        return tok


def pad_sequences(sequences: Sequence[Sequence[int]], maxlen: int, padding: str = "pre",
                  truncating: str = "pre", value: int = 0) -> np.ndarray:
    """Keras ``pad_sequences`` for int ids: int32 [len(sequences), maxlen]."""
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ValueError(f"padding/truncating must be 'pre' or 'post', got {padding!r}/{truncating!r}")
    out = np.full((len(sequences), maxlen), value, dtype=np.int32)
    for row, seq in enumerate(sequences):
        if not len(seq):
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        if padding == "pre":
            out[row, maxlen - len(kept):] = kept
        else:
            out[row, :len(kept)] = kept
    return out


# ----------------------------------------------------------------------------- corpus
@dataclasses.dataclass
class Corpus:
    texts: Dict[str, List[str]]  # subset -> documents, scikit-learn's order
    labels: Dict[str, np.ndarray]  # subset -> int64 [N]
    target_names: List[str]


def _sklearn_order(n: int) -> np.ndarray:
    """Document order of fetch_20newsgroups: load_files shuffles (0), then fetch shuffles (42)."""
    idx = np.arange(n)
    np.random.RandomState(0).shuffle(idx)
    second = np.arange(n)
    np.random.RandomState(42).shuffle(second)
    return idx[second]


def _strip(texts: List[str], remove: Tuple[str, ...]) -> List[str]:
    # scikit-learn's own strippers, applied in its order (headers, footers, quotes).
    from sklearn.datasets import _twenty_newsgroups as tng

    if "headers" in remove:
        texts = [tng.strip_newsgroup_header(t) for t in texts]
    if "footers" in remove:
        texts = [tng.strip_newsgroup_footer(t) for t in texts]
    if "quotes" in remove:
        texts = [tng.strip_newsgroup_quoting(t) for t in texts]
    return texts


def _read_members(data_dir: str) -> Dict[str, Dict[str, Dict[str, bytes]]]:
    """subset -> group -> file name -> bytes, from a bydate .tar.gz or its extracted folder."""
    found: Dict[str, Dict[str, Dict[str, bytes]]] = {s: {} for s in SUBSETS}
    folder_of = {v: k for k, v in _FOLDERS.items()}
    if os.path.isdir(data_dir):
        for subset, folder in _FOLDERS.items():
            root = os.path.join(data_dir, folder)
            if not os.path.isdir(root):
                continue
            groups = sorted(g for g in os.listdir(root) if os.path.isdir(os.path.join(root, g)))
            for group in progress(groups, len(groups), f"reading {folder}"):
                gdir = os.path.join(root, group)
                found[subset][group] = {}
                for name in sorted(os.listdir(gdir)):
                    with open(os.path.join(gdir, name), "rb") as f:
                        found[subset][group][name] = f.read()
        return found
    try:
        with tarfile.open(data_dir, "r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            for m in progress(members, len(members), f"reading {os.path.basename(data_dir)}"):
                parts = m.name.strip("/").split("/")
                # accept a leading folder above the two bydate folders
                for k in range(len(parts) - 2):
                    if parts[k] in folder_of and len(parts) == k + 3:
                        subset, group, name = folder_of[parts[k]], parts[k + 1], parts[k + 2]
                        found[subset].setdefault(group, {})[name] = tar.extractfile(m).read()
                        break
    except (tarfile.TarError, OSError, EOFError) as e:
        raise NgjaxError(f"--data_dir={data_dir}: cannot read the archive ({e}); pass the "
                         "20news-bydate.tar.gz archive or its extracted folder") from None
    return found


def load_local(data_dir: str) -> Corpus:
    """Read a bydate archive or folder into scikit-learn's document order (latin-1)."""
    if not os.path.exists(data_dir):
        raise NgjaxError(f"--data_dir={data_dir}: no such file or folder; pass the path of "
                         "20news-bydate.tar.gz or of the folder holding 20news-bydate-train/ "
                         "and 20news-bydate-test/")
    found = _read_members(data_dir)
    missing = [_FOLDERS[s] for s in SUBSETS if not found[s]]
    if missing:
        raise NgjaxError(f"--data_dir={data_dir}: no documents under {' or '.join(missing)}/; "
                         "expected the 20 Newsgroups bydate layout (20news-bydate-train/<group>/<id>)")
    target_names = sorted(found["train"])
    if sorted(found["test"]) != target_names:
        raise NgjaxError(f"--data_dir={data_dir}: train and test folders hold different groups; "
                         "is the archive complete?")
    texts, labels = {}, {}
    for subset in SUBSETS:
        docs, ys = [], []
        for label, group in enumerate(target_names):
            for name in sorted(found[subset][group]):
                docs.append(found[subset][group][name].decode("latin-1"))
                ys.append(label)
        order = _sklearn_order(len(docs))
        texts[subset] = [docs[i] for i in order]
        labels[subset] = np.asarray(ys, dtype=np.int64)[order]
    return Corpus(texts, labels, target_names)


def load_sklearn(remove: Tuple[str, ...]) -> Corpus:
    """scikit-learn's fetch_20newsgroups (downloads once into its own cache)."""
    from sklearn.datasets import fetch_20newsgroups

    texts, labels, names = {}, {}, None
    for subset in SUBSETS:
        try:
            b = fetch_20newsgroups(subset=subset, remove=remove)
        except Exception as e:  # network errors come in many types
            raise NgjaxError(f"could not fetch 20 Newsgroups through scikit-learn ({type(e).__name__}: "
                             f"{e}); with no network, pass --data_dir=PATH/20news-bydate.tar.gz") from None
        texts[subset], labels[subset], names = list(b.data), np.asarray(b.target), list(b.target_names)
    return Corpus(texts, labels, names)


def load_corpus(data_dir: Optional[str], remove: Tuple[str, ...] = ()) -> Corpus:
    if data_dir is None:
        return load_sklearn(remove)
    corpus = load_local(data_dir)
    if remove:
        corpus.texts = {s: _strip(t, remove) for s, t in corpus.texts.items()}
    return corpus


# ----------------------------------------------------------------------------- dataset
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
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def default_cache_dir() -> str:
    return os.environ.get("NGJAX_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "ngjax"))


def _flatten(seqs: List[List[int]]) -> Tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.fromiter((i for s in seqs for i in s), dtype=np.int32, count=int(offsets[-1]))
    return flat, offsets


def _unflatten(flat: np.ndarray, offsets: np.ndarray) -> List[np.ndarray]:
    return [flat[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def _split_indices(labels: np.ndarray, fraction: float, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    train_idx, val_idx = train_test_split(idx, test_size=fraction, random_state=seed,
                                          stratify=labels)
    return np.sort(train_idx), np.sort(val_idx)


def text_head(text: str, lines: int = 3, chars: int = 240) -> str:
    """The first non-empty lines of a document, joined with ' / ' (for sample listings)."""
    kept = [l.strip() for l in text.splitlines() if l.strip()][:lines]
    out = " / ".join(kept)
    return out if len(out) <= chars else out[: chars - 3] + "..."


def _tokenize(cfg: Config) -> dict:
    corpus = load_corpus(cfg.data_dir, cfg.remove)
    train_texts, y_train = corpus.texts["train"], corpus.labels["train"]
    parts = {}
    if cfg.val_fraction > 0:
        tr, va = _split_indices(y_train, cfg.val_fraction, cfg.val_seed)
        val_texts = [train_texts[i] for i in va]
        train_texts = [train_texts[i] for i in tr]
        parts["val"] = (val_texts, y_train[va])
        y_train = y_train[tr]
    parts["train"] = (train_texts, y_train)
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
    arrays = None
    if os.path.exists(path):
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            logging.info("token cache hit: %s", path)
        except Exception as e:  # a truncated or foreign file: rebuild it
            logging.warning("token cache %s unreadable (%s); rebuilding it", path, e)
    if arrays is None:
        arrays = _tokenize(cfg)
        os.makedirs(cache_dir, exist_ok=True)
        tmp = path + f".tmp{os.getpid()}.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
        logging.info("token cache written: %s", path)
    tok = Tokenizer.from_json(str(arrays["tokenizer"]))

    def padded(name):
        seqs = _unflatten(arrays[f"{name}_flat"], arrays[f"{name}_offsets"])
        return pad_sequences(seqs, cfg.seq_len, cfg.padding, cfg.truncating)

    has_val = "val_flat" in arrays
    return Dataset(
        x_train=padded("train"), y_train=arrays["train_y"],
        x_test=padded("test"), y_test=arrays["test_y"],
        x_val=padded("val") if has_val else None, y_val=arrays["val_y"] if has_val else None,
        target_names=json.loads(str(arrays["target_names"])), tokenizer=tok,
        test_heads=json.loads(str(arrays["test_heads"])),
    )
