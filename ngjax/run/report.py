"""What a researcher looks at after a run: curves, confusion matrix, per-class report, samples.

Written at the end of every run, and on demand for an existing workdir:

    python -m ngjax.report --workdir=runs/lstm

Files: ``plots/curves.png`` (loss and accuracy per epoch, train/test[/val]),
``plots/confusion.png`` (row-normalised, group names on the axes), ``report.txt``
(scikit-learn's ``classification_report`` on the test set) and ``samples.md`` (test messages'
first lines, true group, predicted group, top-3 probabilities).
"""

from __future__ import annotations

import functools
import os
from typing import List, Sequence

import numpy as np

from ngjax import files
from ngjax.config import ConfigError

SAMPLES = 12


def predict_proba(params, tokens: np.ndarray, spec, batch_size: int = 1024, by_length: bool = False) -> np.ndarray:
    """Softmax probabilities float32[N, C] for tokens int32[N, T], in jitted chunks: in document
    order at full length (the reference), or with ``by_length`` (a masked model) ``by_length_proba``'s way."""
    import jax.numpy as jnp

    if by_length and spec.masked:
        return by_length_proba(params, tokens, spec, batch_size)
    fn = _proba_fn(spec)
    out = []
    for start in range(0, tokens.shape[0], batch_size):
        chunk = tokens[start:start + batch_size]
        n = chunk.shape[0]
        if n < batch_size and tokens.shape[0] > batch_size:  # keep one compiled shape
            chunk = np.pad(chunk, ((0, batch_size - n), (0, 0)))
        out.append(np.asarray(fn(params, jnp.asarray(chunk)))[:n])
    return np.concatenate(out) if out else np.zeros((0, spec.num_classes), np.float32)


def by_length_proba(params, tokens: np.ndarray, spec, batch_size: int = 256, step: int = 64) -> np.ndarray:
    """``predict_proba`` of a masked model (its probabilities do not depend on the padding, up to
    rounding) computing less: the documents sorted by length, their words moved to the front, each
    chunk of ``batch_size`` cut to its longest document rounded up to ``step`` positions (a few
    compiled shapes), the result back in document order. With a bidirectional layer and two CPU
    devices each direction runs on its own device, as the run trained (``--shard=directions``)."""
    import jax.numpy as jnp

    tokens = np.asarray(tokens)
    n, seq_len = tokens.shape
    out = np.zeros((n, spec.num_classes), np.float32)
    if not n:
        return out
    front = np.take_along_axis(tokens, np.argsort(tokens == 0, axis=1, kind="stable"), axis=1)  # post-padded
    lengths = (tokens != 0).sum(axis=1)
    order = np.argsort(lengths, kind="stable")
    spec = _reading_spec(spec)
    fn = _proba_fn(spec)
    put = jnp.asarray
    if spec.direction_mesh is not None:  # params and tokens replicated on both devices
        import jax
        from jax.sharding import NamedSharding, PartitionSpec

        both = NamedSharding(spec.direction_mesh, PartitionSpec())
        params = jax.device_put(params, both)
        put = lambda a: jax.device_put(a, both)  # noqa: E731
    for start in range(0, n, batch_size):
        ids = order[start:start + batch_size]
        length = int(min(seq_len, max(step, -(-int(lengths[ids[-1]]) // step) * step)))
        chunk = front[ids, :length]
        if len(ids) < batch_size and n > batch_size:  # keep one compiled shape per length
            chunk = np.pad(chunk, ((0, batch_size - len(ids)), (0, 0)))
        out[ids] = np.asarray(fn(params, put(chunk)))[:len(ids)]
    return out


@functools.lru_cache(maxsize=8)
def _reading_spec(spec):
    """``spec`` with its directions on two devices where that is the fast layout (a bidirectional
    model, exactly two CPU devices visible): see ``ngjax.train.fastest``."""
    import dataclasses

    import jax

    from ngjax.train import devices

    if not spec.bidirectional or spec.direction_mesh is not None or jax.device_count() != 2 \
            or jax.devices()[0].platform != "cpu":
        return spec
    return dataclasses.replace(spec, direction_mesh=devices.make_mesh("directions", 1, 1, 1))


@functools.lru_cache(maxsize=8)
def _proba_fn(spec):
    import jax

    from ngjax.model import network as model_lib

    return jax.jit(lambda p, t: jax.nn.softmax(model_lib.apply(p, t, spec), -1))


def plot_curves(history: List[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    epochs = [r["epoch"] for r in history]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for split, style in (("train", "-"), ("val", "-."), ("test", "--")):
            key = f"{split}_{metric}"
            if history and key in history[0]:
                mean = np.array([r[key] for r in history])
                line, = ax.plot(epochs, mean, style, marker="o", markersize=3, label=split)
                if f"{key}_std" in history[0]:  # K seeds: mean line and a ±1 std band
                    std = np.array([r[f"{key}_std"] for r in history])
                    ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        k = len(history[0].get("per_seed", {}).get("seed", [])) if history else 0
        ax.set_title(f"model {metric}" + (f" (mean ± std over {k} seeds)" if k else ""))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    files.save_figure(fig, path)
    plt.close(fig)


def plot_confusion(cm: np.ndarray, names: Sequence[str], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(11, 9.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel("predicted group")
    ax.set_ylabel("true group")
    ax.set_title(title)
    for i in range(len(names)):
        for j in range(len(names)):
            if norm[i, j] >= 0.05:
                ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true group's messages")
    fig.tight_layout()
    files.save_figure(fig, path)
    plt.close(fig)


def write_report(workdir: str, params, spec, ds, history: List[dict]) -> dict:
    """Write the plots, report.txt and samples.md for ``params`` on ``ds``'s test set."""
    from sklearn.metrics import classification_report, confusion_matrix

    plots = os.path.join(workdir, "plots")
    os.makedirs(plots, exist_ok=True)
    if history:
        plot_curves(history, os.path.join(plots, "curves.png"))
    proba = predict_proba(params, ds.x_test, spec)
    pred = proba.argmax(-1)
    names = list(ds.target_names)
    labels = list(range(len(names)))
    cm = confusion_matrix(ds.y_test, pred, labels=labels)
    acc = float((pred == ds.y_test).mean())
    plot_confusion(cm, names, os.path.join(plots, "confusion.png"),
                   f"Test confusion matrix (accuracy {acc:.3f})")
    files.atomic_write(os.path.join(workdir, "report.txt"), classification_report(
        ds.y_test, pred, labels=labels, target_names=names, digits=4, zero_division=0))
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(pred), size=min(SAMPLES, len(pred)), replace=False))
    lines = ["# Sample test predictions", "",
             "| # | message (first lines) | true group | predicted | top-3 probabilities |",
             "|---|---|---|---|---|"]
    for i in pick:
        top = np.argsort(-proba[i])[:3]
        head = (ds.test_heads[i] if ds.test_heads else "").replace("|", "\\|")
        ok = "" if pred[i] == ds.y_test[i] else " ✗"
        lines.append(f"| {i} | {head} | {names[ds.y_test[i]]} | {names[pred[i]]}{ok} | "
                     + ", ".join(f"{names[k]} {proba[i, k]:.2f}" for k in top) + " |")
    files.atomic_write(os.path.join(workdir, "samples.md"), "\n".join(lines) + "\n")
    return {"test_accuracy": acc, "confusion": cm.tolist()}


def main(argv) -> int:
    from absl import flags

    from ngjax.data import dataset as data_lib
    from ngjax.run import workdir as workdir_lib

    if len(argv) > 1:
        raise ConfigError(f"unexpected arguments {argv[1:]}; pass --workdir=W")
    fv = flags.FLAGS
    if not fv.workdir:
        raise ConfigError("--workdir is required: pass a run folder made by python -m ngjax.main")
    workdir = workdir_lib.final_run(fv.workdir)  # a recipe's folder: its final run
    run = workdir_lib.load_run(workdir)
    ds = data_lib.load_dataset(run.cfg, fv.cache_dir)
    out = write_report(workdir, run.params, run.spec, ds, workdir_lib.read_history(workdir))
    print(f"wrote {workdir}/plots/curves.png, plots/confusion.png, report.txt, samples.md "
          f"(test accuracy {out['test_accuracy']:.4f})")
    return 0



def define_flags() -> None:
    """The command's flags (``python -m ngjax.report``)."""
    from absl import flags

    flags.DEFINE_string("workdir", None, "A run folder made by python -m ngjax.main.")
    flags.DEFINE_string("cache_dir", None, "Token cache (default $NGJAX_CACHE or ~/.cache/ngjax).")
