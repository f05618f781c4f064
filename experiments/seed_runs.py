"""Run the seed's experiments 1-5 (6 with a 200-d GloVe file) once each and tabulate them.

Command (what produced experiments/results/seed_runs.md):
    python -m experiments.seed_runs --data_dir=../shared/data/20news-bydate.tar.gz \
        --runs_dir=runs/seed --epochs=50

Each variant trains in RUNS_DIR/<name> through ngjax.main's own code path (so a killed driver
resumes where it stopped, and a finished variant is not rerun). The table is built from the
files the runs wrote (metrics.jsonl, summary.json), never typed in.
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
flags.DEFINE_string("runs_dir", "runs/seed", "Parent folder of the runs.")
flags.DEFINE_integer("epochs", 50, "Epochs per run.")
flags.DEFINE_string("glove_path", None, "GloVe file for experiments 1, 2, 4, 5 (default bundled 50d).")
flags.DEFINE_string("glove200_path", None, "A 200-d GloVe file: adds experiment 6.")
flags.DEFINE_string("cache_dir", None, "Token/GloVe cache.")
flags.DEFINE_string("out", "experiments/results/seed_runs", "Output path without extension (.md, .json).")
FLAGS = flags.FLAGS


def variants():
    return SEED_VARIANTS + (["seed_dim200"] if FLAGS.glove200_path else [])


def table(rows) -> str:
    head = ("| experiment | seed test acc (ep 1 -> last) | ngjax test acc (ep 1 -> last) | "
            "ngjax best | ngjax final train loss (seed) | embedding dim | epochs | s/epoch |\n"
            "|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        lines.append(f"| {r['label']} | {r['seed_first']:.4f} -> **{r['seed_last']:.4f}** | "
                     f"{r['first']:.4f} -> **{r['last']:.4f}** | {r['best']:.4f} | "
                     f"{r['train_loss']:.4f} ({r['seed_train_loss']:.4f}) | {r['dim']} | "
                     f"{r['epochs']} | {r['sec_per_epoch']:.2f} |")
    return "\n".join(lines)


def main(argv):
    from ngjax import train

    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    rows = []
    t0 = time.time()
    for name in variants():
        cfg = seed_config(name, FLAGS.data_dir, FLAGS.epochs, FLAGS.glove_path, FLAGS.glove200_path)
        workdir = os.path.join(FLAGS.runs_dir, name)
        print(f"=== {name} -> {workdir}", flush=True)
        try:
            summary = train.train_and_evaluate(cfg, workdir, FLAGS.cache_dir)
        except NgjaxError as e:
            print(f"error: {name}: {e}", file=sys.stderr)
            return 1
        hist = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]
        label, s_first, s_last, s_loss = SEED_RESULTS[name]
        secs = [h["epoch_seconds"] for h in hist[1:]] or [hist[0]["epoch_seconds"]]
        rows.append(dict(name=name, label=label, seed_first=s_first, seed_last=s_last,
                         seed_train_loss=s_loss, first=hist[0]["test_accuracy"],
                         last=hist[-1]["test_accuracy"], best=max(h["test_accuracy"] for h in hist),
                         train_loss=hist[-1]["train_loss"], epochs=len(hist),
                         dim=json.load(open(os.path.join(workdir, "config.json")))["embed_dim"],
                         sec_per_epoch=sorted(secs)[len(secs) // 2],
                         params=summary["params"]))
    md = table(rows)
    import shutil

    for kind in ("curves", "confusion"):  # the README shows experiment 1's report figures
        src = os.path.join(FLAGS.runs_dir, "seed_lstm", "plots", f"{kind}.png")
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(os.path.dirname(FLAGS.out) or ".", f"seed_lstm_{kind}.png"))
    header = (f"# Seed experiments, one run each (ngjax)\n\nCommand: `python -m experiments.seed_runs "
              f"{' '.join(sys.argv[1:])}`\n\nDriver wall time: {time.time() - t0:.0f} s "
              f"(runs already finished are read back, not retrained). s/epoch: median of epochs "
              f"2.., training + test evaluation + checkpoint.\n\n")
    with open(FLAGS.out + ".md", "w") as f:
        f.write(header + md + "\n")
    with open(FLAGS.out + ".json", "w") as f:
        json.dump(rows, f, indent=2)
    print(md)
    return 0


if __name__ == "__main__":
    logging.set_verbosity(logging.WARNING)
    app.run(lambda argv: sys.exit(main(argv)))
