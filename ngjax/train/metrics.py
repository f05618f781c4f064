"""Metrics as sums plus a count on device, normalised once per epoch on the host; the epoch line
and the run summary built from them."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ngjax.train import devices as distributed


def batch_sums(logits: jax.Array, labels: jax.Array, weight: Optional[jax.Array] = None):
    """({loss_sum, correct, count}, per-example losses) for logits float32[B, C], labels int32[B]."""
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    correct = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
    if weight is None:
        weight = jnp.ones_like(losses)
    return {"loss_sum": jnp.sum(losses * weight), "correct": jnp.sum(correct * weight),
            "count": jnp.sum(weight)}, losses


def probability_sums(probs: jax.Array, labels: jax.Array, weight: jax.Array):
    """{loss_sum, correct, count} for probabilities float32[B, C] (e.g. an ensemble's average)."""
    picked = jnp.take_along_axis(probs, labels[:, None], axis=1)[:, 0]
    losses = -jnp.log(jnp.maximum(picked, 1e-12))
    correct = (jnp.argmax(probs, -1) == labels).astype(jnp.float32)
    return {"loss_sum": jnp.sum(losses * weight), "correct": jnp.sum(correct * weight), "count": jnp.sum(weight)}


def add(a, b):
    return jax.tree_util.tree_map(jnp.add, a, b)


def zero_sums() -> Dict[str, jax.Array]:
    return {"loss_sum": jnp.zeros(()), "correct": jnp.zeros(()), "count": jnp.zeros(())}


def split_metrics(sums: Dict[str, Any], prefix: str) -> Dict[str, Any]:
    """Sums -> {prefix_loss, prefix_accuracy}. With K replicas (sums of shape [K]) the values are
    means over replicas, with ``*_std`` beside them and the per-replica values under ``per_seed``."""
    s = distributed.to_host(sums)
    loss = np.asarray(s["loss_sum"], np.float64) / np.asarray(s["count"], np.float64)
    acc = np.asarray(s["correct"], np.float64) / np.asarray(s["count"], np.float64)
    if loss.ndim == 0:
        return {f"{prefix}_loss": float(loss), f"{prefix}_accuracy": float(acc)}
    return {f"{prefix}_loss": float(loss.mean()), f"{prefix}_accuracy": float(acc.mean()),
            f"{prefix}_loss_std": float(loss.std()), f"{prefix}_accuracy_std": float(acc.std()),
            "per_seed": {f"{prefix}_loss": loss.tolist(), f"{prefix}_accuracy": acc.tolist()}}


def add_to_row(row: dict, part: dict) -> None:
    """Merge one split's metrics into an epoch row (per-seed values into ``row["per_seed"]``)."""
    per = part.pop("per_seed", None)
    row.update(part)
    if per:
        row.setdefault("per_seed", {}).update(per)


def epoch_line(epoch: int, epochs: int, m: dict) -> str:
    """``Epoch 3/50 - 1.25s - loss: ... - accuracy: ... - [val_...] - test_loss: ... - test_accuracy: ...``"""
    parts = [f"Epoch {epoch}/{epochs}", f"{m['epoch_seconds']:.2f}s",
             f"loss: {m['train_loss']:.4f}", f"accuracy: {m['train_accuracy']:.4f}"]
    if "val_loss" in m:
        parts += [f"val_loss: {m['val_loss']:.4f}", f"val_accuracy: {m['val_accuracy']:.4f}"]
    if "test_loss" in m:  # (--notest_each_epoch: only the reported epoch's, at the end)
        parts += [f"test_loss: {m['test_loss']:.4f}", f"test_accuracy: {m['test_accuracy']:.4f}"]
    if "test_accuracy_std" in m:
        parts[-1] += f" ± {m['test_accuracy_std']:.4f} ({len(m['per_seed']['seed'])} seeds, mean ± std)"
    if "test_ensemble_accuracy" in m:
        parts.append(f"ensemble test_accuracy: {m['test_ensemble_accuracy']:.4f}")
    return " - ".join(parts)


def run_summary(params: Dict[str, int], history: List[dict], extra: Dict[str, Any]) -> dict:
    """summary.json: parameter counts, final and best metrics, per-seed statistics, ``extra``."""
    summary = {
        "params": params,
        "epochs": len(history),
        "final": history[-1] if history else None,
        "best_test_accuracy": max((r["test_accuracy"] for r in history if "test_accuracy" in r), default=None),
    }
    summary.update(extra)
    reported = extra.get("selected") or (history[-1] if history else {})
    if "test_ensemble_accuracy" in reported:
        summary["ensemble"] = {k: reported[k] for k in reported if "_ensemble_" in k}
    per = next((r["per_seed"] for r in (history[-1] if history else {}, reported)
                if "test_accuracy" in r.get("per_seed", {})), None)  # the last epoch's, else the reported one's
    if per:
        summary["seeds"] = {"seeds": per["seed"], **{
            key: {"mean": float(np.mean(per[key])), "std": float(np.std(per[key])),
                  "min": float(np.min(per[key])), "max": float(np.max(per[key]))}
            for key in ("test_accuracy", "test_loss", "train_accuracy", "train_loss")}}
    return summary
