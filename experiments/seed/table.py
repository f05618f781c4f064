"""The seed's table with error bars: experiments 1-5 (6 with a 200-d GloVe file), K seeds each.

Command (what produced experiments/seed/results/seed_table.md):
    python -m experiments.seed.table --data_dir=../shared/data/20news-bydate.tar.gz \
        --runs_dir=runs/seed_table_w2 --seeds=5 --epochs=50 --workers=2

Each variant trains its K seeds as one vmapped program (``--seeds=K``) in RUNS_DIR/<name>.
``--workers=N`` trains N variants at once, each in its own process (longest first; its output goes
to RUNS_DIR/<name>/train.log). One run of these small models keeps about one CPU core busy, so on
a CPU machine N = the number of cores cuts the table's wall time by up to N (see README);
the default (``auto``) does that on CPU and trains one variant at a time where an accelerator is
installed (processes would compete for its memory). The driver is resumable as a whole (a
finished variant is read back, not retrained; a killed one resumes from its checkpoint).
Writes OUT.md / OUT.json (the table) and OUT.png (test accuracy per epoch of every variant: mean
line, ±1 std band).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Optional

from absl import flags, logging

from experiments import drivers
from experiments.seed import SEED_RESULTS, SEED_VARIANTS, seed_config
from ngjax import files
from ngjax import cli
from ngjax.errors import NgjaxError

if __name__ == "__main__":
    drivers.define_common_flags("runs/seed_table", "experiments/seed/results/seed_table")
    flags.DEFINE_integer("seeds", 5, "Seeds per variant.")
    flags.DEFINE_list("variants", SEED_VARIANTS, "Seed experiments to run (seed_dim200 is added by --glove200_path).")
    flags.DEFINE_string("workers", "auto", "Variants trained at once, each in its own process: a number, "
                        "or auto (CPU cores on a CPU-only machine, else 1).")
    flags.DEFINE_string("keras_reference", "experiments/seed/results/keras_reference.json",
                        "Keras 3 reference results (python -m experiments.seed.keras_reference) for the Keras "
                        "column; the column says 'not run' where a variant is missing.")
FLAGS = flags.FLAGS


def _row(name: str, workdir: str) -> dict:
    hist, config = drivers.read_run(workdir)
    last = hist[-1]
    per = last.get("per_seed", {"test_accuracy": [last["test_accuracy"]], "seed": [None]})
    accs = per["test_accuracy"]
    label, s_first, s_last, _ = SEED_RESULTS[name]
    return {
        "name": name, "label": label, "seed_reported": s_last, "seed_first_epoch": s_first,
        "mean": sum(accs) / len(accs), "std": last.get("test_accuracy_std", 0.0),
        "min": min(accs), "max": max(accs), "seeds": len(accs), "epochs": len(hist),
        "glove_dim": config["embed_dim"],
        "train_seconds": sum(h["epoch_seconds"] for h in hist),
        "curve_mean": [h["test_accuracy"] for h in hist],
        "curve_std": [h.get("test_accuracy_std", 0.0) for h in hist],
    }


def read_keras_reference(path: str) -> dict:
    """variant name -> row of experiments.seed.keras_reference's JSON (empty when there is none)."""
    if not path or not os.path.exists(path):
        return {}
    with open(path) as f:
        data = json.load(f)
    return {r["name"]: {"epochs": data.get("epochs"), **r} for r in data["rows"]}


def _keras_cell(ref: Optional[dict], epochs: int, dim: int) -> str:
    if not ref:
        return "not run"
    if ref.get("epochs", epochs) != epochs or ref.get("embed_dim", dim) != dim:
        return "not comparable"
    if ref["seeds"] > 1:
        return f"{ref['mean']:.4f} ± {ref['std']:.4f} ({ref['seeds']} runs)"
    return f"{ref['mean']:.4f} (1 run)"


def table(rows) -> str:
    lines = ["| experiment | seed (Keras, 1 run) | Keras 3 here (same data) | ngjax mean ± std | ngjax min – max | "
             "seeds | epochs | embedding dim | train+eval s (all seeds) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        dim = f"{r['glove_dim']} (GloVe)" if r["name"] != "seed_random_emb" else f"{r['glove_dim']} (random)"
        keras = _keras_cell(r.get("keras"), r["epochs"], r["glove_dim"])
        lines.append(f"| {r['label']} | {r['seed_reported']:.4f} | {keras} | **{r['mean']:.4f} ± {r['std']:.4f}** | "
                     f"{r['min']:.4f} – {r['max']:.4f} | {r['seeds']} | {r['epochs']} | {dim} | "
                     f"{r['train_seconds']:.0f} |")
    return "\n".join(lines)


def plot(rows, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(9, 5.5))
    for r in rows:
        m, s = np.array(r["curve_mean"]), np.array(r["curve_std"])
        ep = np.arange(1, len(m) + 1)
        line, = ax.plot(ep, m, label=f"{r['label']} ({m[-1]:.3f})")
        ax.fill_between(ep, m - s, m + s, color=line.get_color(), alpha=0.2)
        ax.axhline(r["seed_reported"], color=line.get_color(), ls=":", lw=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy")
    k = rows[0]["seeds"] if rows else 0
    ax.set_title(f"Test accuracy per epoch, mean ± std over {k} seeds (dotted: the seed study's final value)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    files.save_figure(fig, path)
    plt.close(fig)


def make_jobs(names, seeds: int):
    """[(name, Config, workdir)] of the seed variants ``names`` under --runs_dir; ConfigError or
    an exit-2 message for unknown names."""
    unknown = [n for n in names if n not in SEED_RESULTS]
    if unknown:
        raise NgjaxError(f"--variants: unknown {unknown}; choose from {', '.join(SEED_RESULTS)}")
    return [(name, seed_config(name, FLAGS.data_dir, FLAGS.epochs, FLAGS.glove_path, FLAGS.glove200_path,
                               seeds=seeds), os.path.join(FLAGS.runs_dir, name)) for name in names]


def variant_names(requested) -> list:
    """--variants, plus experiment 6 when a 200-d GloVe file is given."""
    extra = ["seed_dim200"] if FLAGS.glove200_path and "seed_dim200" not in requested else []
    return list(requested) + extra


def main(argv):
    from ngjax.config import ConfigError

    if FLAGS.seeds < 1:
        raise ConfigError(f"--seeds={FLAGS.seeds}: must be >= 1 (seeds per variant)")
    t0 = time.time()
    jobs, workers, code = drivers.train_all(lambda: make_jobs(variant_names(FLAGS.variants), FLAGS.seeds),
                                            FLAGS.workers, FLAGS.cache_dir)
    if code:
        return code
    rows = [_row(name, workdir) for name, _, workdir in jobs]
    keras_ref = read_keras_reference(FLAGS.keras_reference)
    for r in rows:
        ref = keras_ref.get(r["name"])
        if ref:
            r["keras"] = {k: ref[k] for k in ("mean", "std", "seeds", "test_accuracy", "embed_dim", "keras", "epochs")}
    wall = time.time() - t0
    md = table(rows)
    total = sum(r["train_seconds"] for r in rows)
    header = (f"# The seed table with error bars (ngjax, {FLAGS.seeds} seeds per variant)\n\n"
              f"Command: `{drivers.command('experiments.seed.table')}`\n\n"
              f"Training + evaluation time of all {len(rows)} variants x {FLAGS.seeds} seeds: {total:.0f} s "
              f"(sum of epoch times). This driver call took {wall:.0f} s of wall time with {workers} "
              f"variant(s) at once (finished variants are read back, not retrained).\n\n")
    drivers.write_results(FLAGS.out, header + md + "\n\n![test accuracy curves](" + os.path.basename(FLAGS.out) + ".png)\n",
                          {"rows": rows, "train_seconds_total": total, "driver_wall_seconds": wall,
                           "workers": workers, "command": sys.argv[1:]})
    plot(rows, FLAGS.out + ".png")
    print(md)
    return 0


if __name__ == "__main__":
    cli.run(main, logging.WARNING)  # bad input: one "error:" line and a non-zero exit
