"""The seed's table with error bars: experiments 1-5 (6 with a 200-d GloVe file), K seeds each.

Command (what produced experiments/results/seed_table.md):
    python -m experiments.seed_table --data_dir=../shared/data/20news-bydate.tar.gz \
        --runs_dir=runs/seed_table --seeds=5 --epochs=50

Each variant trains its K seeds as one vmapped program (``--seeds=K``) in RUNS_DIR/<name>; the
driver is resumable as a whole (a finished variant is read back, not retrained; a killed one
resumes from its checkpoint). Writes OUT.md / OUT.json (the table) and OUT.png (test accuracy
per epoch of every variant: mean line, ±1 std band).
"""

from __future__ import annotations

import json
import os
import sys
import time

from absl import app, flags, logging

from experiments import SEED_RESULTS, SEED_VARIANTS, seed_config
from ngjax.errors import NgjaxError

flags.DEFINE_string("data_dir", None, "20news-bydate.tar.gz or folder (default: scikit-learn download).")
flags.DEFINE_string("runs_dir", "runs/seed_table", "Parent folder of the runs (one per variant).")
flags.DEFINE_integer("seeds", 5, "Seeds per variant.")
flags.DEFINE_integer("epochs", 50, "Epochs per run.")
flags.DEFINE_list("variants", SEED_VARIANTS, "Seed experiments to run (seed_dim200 is added by --glove200_path).")
flags.DEFINE_string("glove_path", None, "GloVe file for the GloVe variants (default: bundled 50d).")
flags.DEFINE_string("glove200_path", None, "A 200-d GloVe file: adds experiment 6.")
flags.DEFINE_string("cache_dir", None, "Token/GloVe cache.")
flags.DEFINE_string("out", "experiments/results/seed_table", "Output path without extension.")
FLAGS = flags.FLAGS


def _row(name: str, workdir: str) -> dict:
    hist = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]
    last = hist[-1]
    per = last.get("per_seed", {"test_accuracy": [last["test_accuracy"]], "seed": [None]})
    accs = per["test_accuracy"]
    label, s_first, s_last, _ = SEED_RESULTS[name]
    return {
        "name": name, "label": label, "seed_reported": s_last, "seed_first_epoch": s_first,
        "mean": sum(accs) / len(accs), "std": last.get("test_accuracy_std", 0.0),
        "min": min(accs), "max": max(accs), "seeds": len(accs), "epochs": len(hist),
        "glove_dim": json.load(open(os.path.join(workdir, "config.json")))["embed_dim"],
        "train_seconds": sum(h["epoch_seconds"] for h in hist),
        "curve_mean": [h["test_accuracy"] for h in hist],
        "curve_std": [h.get("test_accuracy_std", 0.0) for h in hist],
    }


def table(rows) -> str:
    lines = ["| experiment | seed (Keras, 1 run) | ngjax mean ± std | ngjax min – max | seeds | epochs | "
             "embedding dim | train+eval s (all seeds) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        dim = f"{r['glove_dim']} (GloVe)" if r["name"] != "seed_random_emb" else f"{r['glove_dim']} (random)"
        lines.append(f"| {r['label']} | {r['seed_reported']:.4f} | **{r['mean']:.4f} ± {r['std']:.4f}** | "
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
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv):
    from ngjax import train

    names = list(FLAGS.variants) + (["seed_dim200"] if FLAGS.glove200_path and "seed_dim200" not in FLAGS.variants else [])
    unknown = [n for n in names if n not in SEED_RESULTS]
    if unknown:
        print(f"error: --variants: unknown {unknown}; choose from {', '.join(SEED_RESULTS)}", file=sys.stderr)
        return 2
    t0 = time.time()
    rows = []
    for name in names:
        cfg = seed_config(name, FLAGS.data_dir, FLAGS.epochs, FLAGS.glove_path, FLAGS.glove200_path,
                          seeds=FLAGS.seeds)
        workdir = os.path.join(FLAGS.runs_dir, name)
        print(f"=== {name}: {FLAGS.seeds} seeds x {FLAGS.epochs} epochs -> {workdir}", flush=True)
        try:
            train.train_and_evaluate(cfg, workdir, FLAGS.cache_dir)
        except NgjaxError as e:
            print(f"error: {name}: {e}", file=sys.stderr)
            return 1
        rows.append(_row(name, workdir))
    wall = time.time() - t0
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    md = table(rows)
    total = sum(r["train_seconds"] for r in rows)
    header = (f"# The seed table with error bars (ngjax, {FLAGS.seeds} seeds per variant)\n\n"
              f"Command: `python -m experiments.seed_table {' '.join(sys.argv[1:])}`\n\n"
              f"Training + evaluation time of all {len(rows)} variants x {FLAGS.seeds} seeds: {total:.0f} s "
              f"(sum of epoch times; this driver call took {wall:.0f} s, finished variants are read "
              f"back, not retrained).\n\n")
    with open(FLAGS.out + ".md", "w") as f:
        f.write(header + md + "\n\n![test accuracy curves](" + os.path.basename(FLAGS.out) + ".png)\n")
    with open(FLAGS.out + ".json", "w") as f:
        json.dump({"rows": rows, "train_seconds_total": total, "driver_wall_seconds": wall,
                   "command": sys.argv[1:]}, f, indent=2)
    plot(rows, FLAGS.out + ".png")
    print(md)
    return 0


if __name__ == "__main__":
    logging.set_verbosity(logging.WARNING)
    app.run(lambda argv: sys.exit(main(argv)))
