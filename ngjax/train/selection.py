"""Model selection on the validation split only: the best epoch by ``--monitor``, its checkpoint
kept beside the latest (``checkpoints_best/``, see ``ngjax.run.workdir``), and early stopping after ``--early_stopping``
epochs without improvement. Test accuracy is logged every epoch and never selects anything.

Everything here is a function of the metrics history, so a resumed run makes the same choices
as an uninterrupted one.
"""

from __future__ import annotations

from typing import List, Optional



def monitored(row: dict, monitor: str) -> float:
    """The monitored value of an epoch row (the mean over replicas with --seeds=K)."""
    return float(row[monitor])


def best_epoch(history: List[dict], monitor: str) -> Optional[int]:
    """The 1-based epoch with the best ``monitor`` (highest accuracy, lowest loss; the earliest of
    equals), or None when the history has no validation metrics."""
    rows = [r for r in history if monitor in r]
    if not rows:
        return None
    sign = -1.0 if monitor.endswith("loss") else 1.0
    best = max(rows, key=lambda r: (sign * monitored(r, monitor), -r["epoch"]))
    return int(best["epoch"])


def is_new_best(history: List[dict], monitor: str) -> bool:
    """Whether the history's last epoch is its best so far."""
    return bool(history) and best_epoch(history, monitor) == history[-1]["epoch"]


def stop_due(history: List[dict], monitor: str, patience: int) -> bool:
    """Early stopping: ``patience`` epochs have passed since the best one."""
    best = best_epoch(history, monitor)
    return bool(patience) and best is not None and history[-1]["epoch"] - best >= patience


def selected_row(history: List[dict], monitor: str) -> Optional[dict]:
    """The metrics row of the best validation epoch (what the run reports), or None."""
    best = best_epoch(history, monitor)
    return None if best is None else next(r for r in history if r["epoch"] == best)
