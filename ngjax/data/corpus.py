"""20 Newsgroups texts and labels: scikit-learn's ``fetch_20newsgroups`` (its cache and download),
or a local bydate archive (``20news-bydate.tar.gz``) or its extracted folder. Both give the same
documents in the same order as scikit-learn (``load_files`` then ``fetch_20newsgroups`` shuffles),
so a tokenizer fit here matches one fit on ``fetch_20newsgroups(...).data``.
"""

from __future__ import annotations

import dataclasses
import os
import tarfile
from typing import Dict, List, Optional, Tuple

import numpy as np

from ngjax.errors import NgjaxError
from ngjax.progress import progress

SUBSETS = ("train", "test")
_FOLDERS = {"train": "20news-bydate-train", "test": "20news-bydate-test"}

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
        why = ("not a tar archive: empty, damaged or another format" if isinstance(e, tarfile.ReadError)
               else " ".join(str(e).split())[:200] or type(e).__name__)
        raise NgjaxError(f"--data_dir={data_dir}: cannot read the archive ({why}); pass the "
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
