"""Progress for long stages: a live line on a terminal, a few log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, Optional, TypeVar

from absl import logging

T = TypeVar("T")


def progress(items: Iterable[T], total: Optional[int], desc: str, *, stream=None,
             log_every: float = 0.25) -> Iterator[T]:
    """Yield ``items``; show ``desc: k/total`` live on a TTY, else log at each quarter."""
    stream = stream or sys.stderr
    tty = hasattr(stream, "isatty") and stream.isatty()
    start = time.perf_counter()
    next_mark = log_every
    last_draw = 0.0
    count = 0
    for count, item in enumerate(items, 1):
        yield item
        if total:
            frac = count / total
            now = time.perf_counter()
            if tty and (now - last_draw > 0.1 or count == total):
                stream.write(f"\r{desc}: {count}/{total} ({100 * frac:.0f}%)")
                stream.flush()
                last_draw = now
            elif not tty and frac >= next_mark and count < total:
                logging.info("%s: %d/%d (%.0f%%)", desc, count, total, 100 * frac)
                next_mark += log_every
    if tty and total:
        stream.write("\n")
    logging.info("%s: %d done in %.1fs", desc, count, time.perf_counter() - start)
