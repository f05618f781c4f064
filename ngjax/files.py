"""Writing files so that a crash never leaves half of one: every writer in ngjax goes through here.

``atomic_write`` writes beside the target and renames over it (``os.replace`` is atomic on one file
system); ``cached_arrays`` is the hashed ``.npz`` cache shared by the token arrays and GloVe tables.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from typing import Any, Callable, Dict, Iterable, Union

import numpy as np
from absl import logging

from ngjax import errors


def atomic_write(path: str, content: Union[str, bytes]) -> None:
    """Write ``content`` to ``path`` all at once: a reader sees the old file or the new one."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk or a signal mid-write: no half-written file left behind
        _remove(tmp)
        raise


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def save_figure(fig, path: str, dpi: int = 110) -> None:
    """A matplotlib figure as a PNG, written whole or not at all."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    atomic_write(path, buf.getvalue())


def write_json(path: str, obj: Any, indent: int = 2) -> None:
    atomic_write(path, json.dumps(obj, indent=indent) + "\n")


def write_jsonl(path: str, rows: Iterable[dict]) -> None:
    atomic_write(path, "".join(json.dumps(r) + "\n" for r in rows))


def read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


def read_jsonl(path: str) -> list:
    """The rows of a JSON-lines file; a last line cut short (a run killed while appending it; the
    resumed run rewrites the file from its checkpoint) is left out."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = [line for line in f if line.strip()]
    rows = [json.loads(line) for line in lines[:-1]]
    if lines:
        try:
            rows.append(json.loads(lines[-1]))
        except ValueError:
            if lines[-1].endswith("\n"):  # a whole line that is not JSON: damage, not a cut
                raise
    return rows


def cache_key(parts: Dict[str, Any]) -> str:
    """A short hash of everything that determines a cached file's content."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def cached_arrays(path: str, build: Callable[[], Dict[str, Any]], what: str) -> Dict[str, np.ndarray]:
    """The arrays in the ``.npz`` at ``path``, built by ``build()`` and saved there when missing or
    unreadable (a truncated or foreign file is rebuilt, never trusted)."""
    if os.path.exists(path):
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            logging.info("%s cache hit: %s", what, path)
            return arrays
        except Exception as e:  # noqa: BLE001 - any damage means: rebuild
            logging.warning("%s cache %s unreadable (%s); rebuilding it", what, path, e)
    arrays = build()
    tmp = f"{path}.tmp{os.getpid()}.npz"
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
        logging.info("%s cache written: %s", what, path)
    except OSError as e:  # a read-only or full cache folder: the run goes on without the cache
        _remove(tmp)
        print(f"warning: {what} cache not written ({errors.describe_os_error(e)}); going on without it",
              file=sys.stderr, flush=True)
    return {k: np.asarray(v) for k, v in arrays.items()}
