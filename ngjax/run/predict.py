"""Classify new text with a trained run: top-k groups with probabilities.

    python -m ngjax.predict --workdir=runs/lstm "The shuttle launch was delayed by NASA"
    python -m ngjax.predict --workdir=runs/lstm --file=msg1.txt --file=msg2.txt   # one document per file
    cat messages.txt | python -m ngjax.predict --workdir=runs/lstm                # one document per line

Uses the run's own tokenizer (``WORKDIR/tokenizer.json``) and its latest checkpoint; the corpus
is not read again.
"""

from __future__ import annotations

import sys
from typing import List, Tuple

import numpy as np

from ngjax.config import ConfigError
from ngjax.errors import NgjaxError

MAX_BYTES = 10 * 1024 * 1024


def _decode(raw: bytes, where: str) -> str:
    if b"\x00" in raw:
        raise NgjaxError(f"{where} looks binary (it holds NUL bytes); pass plain text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # how the 20NG corpus itself is read


def gather_documents(texts: List[str], files: List[str], stdin, max_bytes: int) -> List[Tuple[str, str]]:
    """(label, text) pairs from arguments, files (one document each) or stdin (one per line)."""
    docs = [(f"arg {i}", t) for i, t in enumerate(texts, 1)]
    for path in files:
        try:
            with open(path, "rb") as f:
                raw = f.read(max_bytes + 1)
        except OSError as e:
            raise NgjaxError(f"--file={path}: cannot read it ({e.strerror})") from None
        if len(raw) > max_bytes:
            raise NgjaxError(f"--file={path} is larger than {max_bytes} bytes; split it or raise --max_bytes")
        docs.append((path, _decode(raw, f"--file={path}")))
    if not texts and not files:
        if stdin is None or stdin.isatty():
            raise NgjaxError("no text given: pass documents as arguments, --file=PATH, or on stdin "
                             "(one per line)")
        raw = stdin.buffer.read(max_bytes + 1) if hasattr(stdin, "buffer") else stdin.read().encode()
        if len(raw) > max_bytes:
            raise NgjaxError(f"stdin is larger than {max_bytes} bytes; raise --max_bytes")
        lines = _decode(raw, "stdin").splitlines()
        docs += [(f"line {i}", l) for i, l in enumerate(lines, 1) if l.strip()]
        if not docs:
            raise NgjaxError("stdin held no text (only empty lines)")
    for label, text in docs:
        if len(text.encode("utf-8", "replace")) > max_bytes:
            raise NgjaxError(f"{label} is larger than {max_bytes} bytes; shorten it or raise --max_bytes")
        if not text.strip():
            raise NgjaxError(f"{label} is empty; pass some text to classify")
    return docs


def classify(run, texts: List[str]) -> Tuple[np.ndarray, List[int]]:
    """(probabilities float32[N, C], known-token counts) for raw texts, with the run's tokenizer."""
    from ngjax.data.dataset import pad_sequences
    from ngjax.run.report import predict_proba

    seqs = run.tokenizer.texts_to_sequences(texts, desc="tokenising")
    x = pad_sequences(seqs, run.cfg.seq_len, run.cfg.padding, run.cfg.truncating)
    return predict_proba(run.params, x, run.spec), [len(s) for s in seqs]


def main(argv) -> int:
    from absl import flags

    from ngjax.run import workdir as workdir_lib

    fv = flags.FLAGS
    if not fv.workdir:
        raise ConfigError("--workdir is required: pass a run folder made by python -m ngjax.main")
    if fv.top_k < 1:
        raise ConfigError("--top_k must be a positive integer")
    docs = gather_documents(list(argv[1:]), fv.file or [], sys.stdin, fv.max_bytes)
    run = workdir_lib.load_run(fv.workdir)
    proba, known = classify(run, [t for _, t in docs])
    k = min(fv.top_k, proba.shape[1])
    width = max(len(n) for n in run.target_names)
    for (label, text), p, n in zip(docs, proba, known):
        snippet = " ".join(text.split())[:70]
        note = "" if n else "  (no word the model knows: this is its prior)"
        print(f"[{label}] {snippet!r}{note}")
        for j in np.argsort(-p)[:k]:
            print(f"    {run.target_names[j]:<{width}}  {p[j]:.4f}")
    return 0



def define_flags() -> None:
    """The command's flags (``python -m ngjax.predict``)."""
    from absl import flags

    flags.DEFINE_string("workdir", None, "A run folder made by python -m ngjax.main.")
    flags.DEFINE_multi_string("file", [], "A file holding one document (repeatable).")
    flags.DEFINE_integer("top_k", 3, "Groups shown per document.")
    flags.DEFINE_integer("max_bytes", MAX_BYTES, "Largest document accepted.")
