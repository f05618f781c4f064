"""Keras 3 reference accuracies for the seed table: the seed's variants trained in Keras itself,
on ngjax's token arrays and GloVe table, so ngjax and Keras can be read side by side.

Command (what produced experiments/seed/results/keras_reference.md):
    python -m experiments.seed.keras_reference --data_dir=../shared/data/20news-bydate.tar.gz \
        --runs_dir=runs/keras_reference --seeds=1 --epochs=50

Needs Keras 3 (``pip install -e '.[bench]'``; JAX backend). Each (variant, seed) is one
``model.fit`` with the seed's recipe (categorical cross-entropy on one-hot labels, Adam 1e-3 with
epsilon 1e-7, batch 32, shuffled, the test set as ``validation_data`` as in the seed's notebook),
seeded with ``keras.utils.set_random_seed``. Its per-epoch history goes to
RUNS_DIR/<variant>/seed<k>.json when it finishes, so a killed driver reruns only unfinished runs.
Writes OUT.md and OUT.json; ``experiments.seed.table`` reads OUT.json for its Keras column.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

from absl import flags, logging  # noqa: E402

from experiments import drivers  # noqa: E402
from experiments.seed import SEED_RESULTS, SEED_VARIANTS, seed_config  # noqa: E402
from ngjax import cli  # noqa: E402
from ngjax import files  # noqa: E402
from ngjax.train import inputs
from ngjax.errors import NgjaxError  # noqa: E402

if __name__ == "__main__":
    drivers.define_common_flags("runs/keras_reference", "experiments/seed/results/keras_reference")
    flags.DEFINE_integer("seeds", 1, "Keras runs (seeds 0..K-1) per variant.")
    flags.DEFINE_list("variants", SEED_VARIANTS, "Seed experiments to run.")
FLAGS = flags.FLAGS


def train_keras(prep, seed: int, epochs: int) -> dict:
    """One Keras run: per-epoch train/test loss and accuracy, wall seconds."""
    import keras
    import numpy as np

    from experiments.bench import keras_peer

    keras.utils.set_random_seed(seed)
    model = keras_peer.build(prep, loss="categorical_crossentropy")
    ds = prep.data
    onehot = np.eye(ds.num_classes, dtype=np.float32)
    t0 = time.time()
    hist = model.fit(ds.x_train, onehot[ds.y_train], batch_size=prep.cfg.batch_size, epochs=epochs,
                     shuffle=True, verbose=0, validation_data=(ds.x_test, onehot[ds.y_test]))
    h = hist.history
    return {"seed": seed, "epochs": epochs, "wall_seconds": time.time() - t0,
            "train_loss": h["loss"], "train_accuracy": h["accuracy"],
            "test_loss": h["val_loss"], "test_accuracy": h["val_accuracy"],
            "keras": keras.__version__, "backend": keras.backend.backend()}


def run_variant(name: str, seeds: int, epochs: int) -> dict:
    cfg = inputs.resolve(seed_config(name, FLAGS.data_dir, epochs, FLAGS.glove_path))
    prep = None
    runs = []
    for seed in range(seeds):
        path = os.path.join(FLAGS.runs_dir, name, f"seed{seed}.json")
        if os.path.exists(path):
            run = json.load(open(path))
            if run["epochs"] == epochs:
                runs.append(run)
                continue
        prep = prep or inputs.load_inputs(cfg, FLAGS.cache_dir)
        print(f"=== keras {name} seed {seed}: {epochs} epochs", flush=True)
        run = train_keras(prep, seed, epochs)
        files.write_json(path, run)
        print(f"=== keras {name} seed {seed}: test accuracy {run['test_accuracy'][-1]:.4f} "
              f"({run['wall_seconds']:.0f} s)", flush=True)
        runs.append(run)
    finals = [r["test_accuracy"][-1] for r in runs]
    return {"name": name, "label": SEED_RESULTS[name][0], "seed_reported": SEED_RESULTS[name][2], "epochs": epochs,
            "embed_dim": cfg.embed_dim, "embeddings": cfg.embeddings, "seeds": len(runs),
            "test_accuracy": finals, "mean": statistics.fmean(finals),
            "std": statistics.pstdev(finals) if len(finals) > 1 else 0.0,
            "train_loss": [r["train_loss"][-1] for r in runs],
            "wall_seconds": sum(r["wall_seconds"] for r in runs),
            "keras": runs[0]["keras"], "backend": runs[0]["backend"]}


def main(argv):
    unknown = [n for n in FLAGS.variants if n not in SEED_RESULTS]
    if FLAGS.glove200_path:
        print("error: --glove200_path: the Keras reference covers experiments 1-5", file=sys.stderr)
        return 2
    if unknown:
        print(f"error: --variants: unknown {unknown}; choose from {', '.join(SEED_RESULTS)}", file=sys.stderr)
        return 2
    import importlib.util

    if importlib.util.find_spec("keras") is None:
        print("error: Keras 3 is not installed; pip install -e '.[bench]'", file=sys.stderr)
        return 1
    t0 = time.time()
    try:
        rows = [run_variant(name, FLAGS.seeds, FLAGS.epochs) for name in FLAGS.variants]
    except NgjaxError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    lines = ["| experiment | seed (Keras, published) | Keras 3 here: test acc | runs | embedding dim | s (all runs) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        acc = f"{r['mean']:.4f} ± {r['std']:.4f}" if r["seeds"] > 1 else f"{r['mean']:.4f}"
        lines.append(f"| {r['label']} | {r['seed_reported']:.4f} | **{acc}** | {r['seeds']} | "
                     f"{r['embed_dim']} ({r['embeddings']}) | {r['wall_seconds']:.0f} |")
    md = (f"# Keras 3 reference runs of the seed's variants\n\nCommand: `{drivers.command('experiments.seed.keras_reference')}`"
          f"\n\nKeras {rows[0]['keras']} ({rows[0]['backend']} backend), ngjax's token "
          f"arrays and GloVe table, {FLAGS.epochs} epochs, test accuracy after the last epoch "
          f"(mean ± std over runs where there are several). Driver wall time {time.time() - t0:.0f} s "
          f"(finished runs are read back).\n\n" + "\n".join(lines) + "\n")
    drivers.write_results(FLAGS.out, md, {"rows": rows, "command": sys.argv[1:], "epochs": FLAGS.epochs})
    print(md)
    return 0


if __name__ == "__main__":
    cli.run(main, logging.WARNING)  # bad input: one "error:" line and a non-zero exit
