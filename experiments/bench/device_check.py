"""The device check: one command that measures ngjax on a GPU (or TPU) beside PyTorch and writes a
results file. Two steps, because the device machine has no corpus and no network:

    # here (the corpus and GloVe at hand): the token arrays, GloVe rows and configs (~40 MB)
    python -m experiments.bench.device_check --prepare --data_dir=../shared/data/20news-bydate.tar.gz \\
        --bundle=.device_bundle
    # on the device (carry .device_bundle; JAX, PyTorch and the rest are there; nothing is fetched):
    pip install --no-deps --no-build-isolation -e . && \\
        python -m experiments.bench.device_check --bundle=.device_bundle --out=$OUT/device_check

Rows, in this order (``--budget_s`` skips a row that would start after it; the whole check is sized
for ~8 minutes on one GPU):

1. ``seed``: the seed's model (LSTM(30), seq 30, batch 32, frozen GloVe): an epoch (training and the
   test evaluation, as the seed's script runs it) of ngjax beside PyTorch (``torch.nn.LSTM``: cuDNN on
   a GPU). Target: ngjax >= 8x faster.
2. ``seed_table``: the seed table (5 variants: seed_lstm, seed_rnn, seed_random_emb, seed_seq50,
   seed_seq100; x 5 seeds x 50 epochs) projected from each variant's 5-replica program (--seeds=5):
   its first epoch (compile included) + 49 warm epochs. Target: <= 60 s.
3. ``bigru256``, ``bilstm256``: the long-document rows of experiments/bench/benchmark.py (ngjax's
   default implementation, training + test evaluation) beside PyTorch.
4. ``best``: one epoch of the best model's student (experiments/ladder/best.py) on the training
   documents and 2 mixed documents per training document (spliced here from the token arrays, as
   ``ngjax.distill.augment`` splices texts; their soft targets fixed at random: the cost is the same).

Every ngjax row runs the implementation ``--recurrence=auto`` / ``--shard=auto`` pick on the
device's platform. ``--prepare --scale=tiny`` writes a bundle of tiny models for the CPU smoke test
(tests/test_device_check.py), so that the script cannot rot while no device is at hand.
"""

from __future__ import annotations

import json
import os
import platform as platform_lib
import statistics
import time
import types

import numpy as np
from absl import flags, logging

from experiments import drivers
from experiments.bench.rows import LONG
from experiments.bench.torch_peer import bench_torch, time_epochs
from ngjax import cli

flags.DEFINE_bool("prepare", False, "Write the bundle (needs the corpus) instead of measuring.")
flags.DEFINE_string("bundle", ".device_bundle", "The bundle folder (written by --prepare, read otherwise).")
flags.DEFINE_string("data_dir", None, "With --prepare: 20news-bydate.tar.gz or its folder.")
flags.DEFINE_string("glove_path", None, "With --prepare: a GloVe file for the seed's rows (default: bundled 50d).")
flags.DEFINE_string("cache_dir", None, "With --prepare: token/GloVe cache.")
flags.DEFINE_enum("scale", "full", ["full", "tiny"], "With --prepare: the real rows, or tiny models (smoke test).")
flags.DEFINE_integer("repeats", 3, "Warm epochs timed per row.")
flags.DEFINE_float("budget_s", 420.0, "Start no row after this many seconds.")
flags.DEFINE_string("out", "experiments/bench/results/device_check", "Results path without extension.")
FLAGS = flags.FLAGS

SEED_TABLE = ("seed_lstm", "seed_rnn", "seed_random_emb", "seed_seq50", "seed_seq100")
TINY = dict(seq_len=16, hidden_size=6, embed_dim=8, num_words=200)
DISTILL = ("distill_weight", "distill_temperature", "mixed", "teacher")
TARGETS = {"seed": "ngjax >= 8x faster per epoch than PyTorch (cuDNN)", "seed_table": "<= 60 s"}


def row_configs(scale: str) -> dict:
    """{row: Config fields} of the rows to bundle (the implementation pins dropped: auto picks)."""
    from ngjax import variants

    rows = {name: variants.load(name) for name in SEED_TABLE}
    rows.update(bigru256=dict(LONG, cell="gru"), bilstm256=dict(LONG, cell="lstm"))
    best = dict(variants.module("best").CONFIG)  # its loss is made at measuring time, its mixed rows spliced
    rows["best"] = {k: v for k, v in best.items() if k not in DISTILL}
    for name, cfg in rows.items():
        cfg.update(recurrence="auto", shard="auto", experiment=None)
        if scale == "tiny":
            cfg.update({k: v for k, v in TINY.items() if k != "embed_dim" or cfg.get("embeddings") == "random"},
                       length_buckets=min(cfg.get("length_buckets", 0), 2))
    return rows


def prepare() -> None:
    from ngjax.config import Config
    from ngjax.train import inputs

    os.makedirs(FLAGS.bundle, exist_ok=True)
    index = {}
    for name, values in row_configs(FLAGS.scale).items():
        glove = FLAGS.glove_path if values.get("embeddings", "glove") == "glove" else None
        cfg = inputs.resolve(Config.from_dict(dict(values, data_dir=FLAGS.data_dir, glove_path=glove)))
        run = inputs.load_inputs(cfg, FLAGS.cache_dir)
        d = run.data
        small = np.uint16 if run.spec.rows <= 65536 else np.int32
        arrays = dict(x_train=d.x_train.astype(small), y_train=d.y_train, x_test=d.x_test.astype(small),
                      y_test=d.y_test, keras_rows=run.keras_rows, rows=run.spec.rows, classes=d.num_classes)
        if d.x_val is not None:
            arrays.update(x_val=d.x_val.astype(small), y_val=d.y_val)
        if run.table is not None:
            arrays["table"] = run.table
        np.savez_compressed(os.path.join(FLAGS.bundle, f"{name}.npz"), **arrays)
        index[name] = dict(values, data_dir=None, glove_path=None, embed_dim=run.spec.embed_dim)  # auto kept
        print(f"{name}: {d.x_train.shape[0]} training documents x {cfg.seq_len} tokens", flush=True)
    best = variants_best()
    index["_distill"] = {k: best[k] for k in ("distill_weight", "distill_temperature")}
    with open(os.path.join(FLAGS.bundle, "bundle.json"), "w") as f:
        json.dump(index, f, indent=1)
    mb = sum(os.path.getsize(os.path.join(FLAGS.bundle, n)) for n in os.listdir(FLAGS.bundle)) / 1e6
    print(f"wrote {FLAGS.bundle}/ ({mb:.1f} MB)")


def variants_best() -> dict:
    from ngjax import variants

    return variants.module("best").CONFIG


def load_row(name: str, values: dict, **more):
    """The row's RunInputs-like object (cfg, spec, tx, data, table, keras_rows) from the bundle, its
    implementation resolved for this platform."""
    from ngjax.config import Config
    from ngjax.train import inputs

    with np.load(os.path.join(FLAGS.bundle, f"{name}.npz")) as f:
        a = {k: f[k] for k in f.files}
    import jax

    from ngjax.config import validate
    from ngjax.train import fastest

    # the table is in the bundle (no GloVe file here): only the implementation is resolved
    cfg = fastest.resolve(validate(Config.from_dict(dict(values, **more))), None, inputs.platform(),
                          jax.device_count())
    spec = inputs.spec_for(cfg, int(a["rows"]), int(a["classes"]),
                           cfg.unroll or inputs.default_unroll(inputs.platform(), cfg.seq_len))
    data = types.SimpleNamespace(x_train=a["x_train"].astype(np.int32), y_train=a["y_train"],
                                 x_test=a["x_test"].astype(np.int32), y_test=a["y_test"],
                                 x_val=a["x_val"].astype(np.int32) if "x_val" in a else None, y_val=a.get("y_val"),
                                 num_classes=int(a["classes"]))
    steps_per_epoch = -(-len(data.x_train) // cfg.batch_size)
    return types.SimpleNamespace(cfg=cfg, spec=spec, tx=inputs.optimizer_for(cfg, steps_per_epoch), data=data,
                                 table=a.get("table"), keras_rows=int(a["keras_rows"]))


def mixed_rows(x: np.ndarray, copies: int, seed: int = 0) -> np.ndarray:
    """``copies`` rows per row of ``x`` (post-padded token ids): one row's beginning followed by
    another's end, cut at random points, as long as the model reads."""
    rng = np.random.default_rng(seed)
    n, t = x.shape
    lengths = (x != 0).sum(1)
    out = np.zeros((copies * n, t), x.dtype)
    for k in range(copies * n):
        i, j = k % n, rng.integers(n)
        a = rng.integers(0, max(1, lengths[i]) + 1)
        b = rng.integers(0, max(1, lengths[j]) + 1)
        row = np.concatenate([x[i, :a], x[j, b:lengths[j]]])[:t]
        out[k, :len(row)] = row
    return out


def time_ngjax(prep, repeats: int, x=None, y=None, loss=None):
    """(first epoch s, [warm epoch s]) of the row's compiled epoch and its evaluation (validation, if
    the row has a validation part, and test), as ``python -m ngjax.main`` runs an epoch."""
    import jax

    from ngjax.train import state as state_lib, steps

    x = prep.data.x_train if x is None else x
    y = prep.data.y_train if y is None else y
    data, cfg = prep.data, prep.cfg
    state = state_lib.init_state(cfg.seed, cfg.seeds, prep.spec, prep.tx, prep.table)
    plans = steps.bucket_plans(data, cfg, x)
    programs = steps.compile_programs(cfg, prep.spec, prep.tx, state, None, plans, **({"loss": loss} if loss else {}))
    xs, ys = jax.device_put(x), jax.device_put(y)
    splits = {s: jax.device_put((getattr(data, f"x_{s}"), getattr(data, f"y_{s}"))) for s in ("val", "test")
              if getattr(data, f"x_{s}") is not None}
    holder = [state]

    def run():
        holder[0], sums = programs.epoch(holder[0], xs, ys)
        params = state_lib.full_params(holder[0])
        jax.block_until_ready((sums, [programs.evaluate[s](params, *xy) for s, xy in splits.items()]))

    return time_epochs(run, repeats)


def _timed(first, warm) -> dict:
    return {"first": first, "warm": warm, "median": statistics.median(warm)}


def _torch(prep, repeats: int, table: str) -> dict:
    try:
        return _timed(*bench_torch(prep, repeats, table, evaluate=True))
    except ImportError as e:
        return {"missing": str(e)}


def measure() -> dict:
    with open(os.path.join(FLAGS.bundle, "bundle.json")) as f:
        index = json.load(f)
    t0 = time.perf_counter()
    out, repeats = {}, FLAGS.repeats

    def due(name):
        if time.perf_counter() - t0 > FLAGS.budget_s:
            out[name] = {"skipped": f"not measured: the {FLAGS.budget_s:.0f} s budget was spent"}
            print(f"{name}: skipped (budget)", flush=True)
            return False
        print(f"{name} ...", flush=True)
        return True

    if due("seed"):
        prep = load_row("seed_lstm", index["seed_lstm"])
        row = {"ngjax": _timed(*time_ngjax(prep, repeats)), "torch": _torch(prep, repeats, "keras")}
        out["seed"] = _with_ratio(row)
    if due("seed_table"):
        variants = {}
        for name in SEED_TABLE:
            prep = load_row(name, index[name], seeds=5)
            first, warm = time_ngjax(prep, repeats)
            variants[name] = {"first": first, "median": statistics.median(warm),
                              "projected": first + (prep.cfg.epochs - 1) * statistics.median(warm),
                              "epochs": prep.cfg.epochs}
        out["seed_table"] = {"variants": variants, "projected_s": sum(v["projected"] for v in variants.values())}
    for name in ("bigru256", "bilstm256"):
        if due(name):
            prep = load_row(name, index[name])
            out[name] = _with_ratio({"ngjax": _timed(*time_ngjax(prep, repeats)),
                                     "torch": _torch(prep, repeats, "stored")})
    if due("best"):
        out["best"] = measure_best(index["best"], index["_distill"], repeats)
    return out


def measure_best(values: dict, distill: dict, repeats: int) -> dict:
    from ngjax.distill.plugin import soft_loss

    prep = load_row("best", values)
    x = prep.data.x_train
    extra = mixed_rows(x, 2)
    rng = np.random.default_rng(0)
    soft = rng.dirichlet(np.ones(prep.data.num_classes), len(x) + len(extra)).astype(np.float32)
    y = {"labels": np.concatenate([prep.data.y_train, np.full(len(extra), -1, prep.data.y_train.dtype)]),
         "soft_targets": soft}
    loss = soft_loss(distill["distill_weight"], distill["distill_temperature"])
    first, warm = time_ngjax(prep, max(1, repeats - 2), np.concatenate([x, extra]), y, loss)
    return {"ngjax": _timed(first, warm), "rows": int(len(x) + len(extra))}


def _with_ratio(row: dict) -> dict:
    if "median" in row["torch"]:
        row["ratio"] = row["torch"]["median"] / row["ngjax"]["median"]
    return row


def markdown(results: dict, env: dict) -> str:
    accelerator = not env["device"].startswith("cpu")
    verdict = (lambda ok: " - met" if ok else " - not met") if accelerator else (lambda ok: " (for a GPU: not judged here)")
    lines = ["# The device check: seconds per epoch (training + test evaluation) on this device", "",
             f"Command: `{drivers.command('experiments.bench.device_check')}`", "",
             ", ".join(f"{k}: {v}" for k, v in env.items()), "",
             "| row | ngjax s/epoch (first) | PyTorch s/epoch (first) | PyTorch / ngjax | target |", "|---|---|---|---|---|"]
    for name in ("seed", "bigru256", "bilstm256", "best"):
        r = results.get(name, {})
        if "skipped" in r:
            lines.append(f"| {name} | {r['skipped']} | | | {TARGETS.get(name, '')} |")
            continue
        if not r:
            continue
        ng = f"{r['ngjax']['median']:.3f} ({r['ngjax']['first']:.1f})"
        torch = r.get("torch", {})
        peer = (f"{torch['median']:.3f} ({torch['first']:.1f})" if "median" in torch
                else "not installed" if "missing" in torch else "-")
        ratio = f"**{r['ratio']:.2f}x**" if "ratio" in r else "-"
        target = TARGETS.get(name, "")
        if name == "seed" and "ratio" in r:
            target += verdict(r["ratio"] >= 8)
        lines.append(f"| {name} | {ng} | {peer} | {ratio} | {target} |")
    table = results.get("seed_table", {})
    if "skipped" in table:
        lines += ["", f"Seed table: {table['skipped']}"]
    elif table:
        lines += ["", f"Seed table (5 variants x 5 seeds x 50 epochs, each variant's 5 seeds as one program): "
                  f"projected **{table['projected_s']:.1f} s** (target {TARGETS['seed_table']}"
                  f"{verdict(table['projected_s'] <= 60)})", "",
                  "| variant | first epoch s (compile) | warm epoch s | projected s |", "|---|---|---|---|"]
        for name, v in table["variants"].items():
            lines.append(f"| {name} | {v['first']:.2f} | {v['median']:.3f} | {v['projected']:.1f} |")
    if "best" in results and "rows" in results["best"]:
        lines += ["", f"best: the student's epoch over {results['best']['rows']} rows (training documents and 2 "
                  "mixed per document)."]
    return "\n".join(lines) + "\n"


def main(argv) -> int:
    from ngjax.config import ConfigError

    if len(argv) > 1:
        raise ConfigError(f"unexpected arguments {argv[1:]}; all options are --flags")
    if FLAGS.prepare:
        prepare()
        return 0
    if not os.path.exists(os.path.join(FLAGS.bundle, "bundle.json")):
        raise ConfigError(f"--bundle={FLAGS.bundle}: no bundle.json; write it first with --prepare --data_dir=... "
                          "(where the corpus is)")
    import jax

    results = measure()
    dev = jax.devices()[0]
    env = {"date": time.strftime("%Y-%m-%d"), "device": f"{dev.platform}: {getattr(dev, 'device_kind', '')}",
           "machine": f"{platform_lib.machine()}, {os.cpu_count()} CPUs", "jax": jax.__version__,
           "torch": _torch_version(), "repeats": FLAGS.repeats, "budget_s": FLAGS.budget_s}
    md = markdown(results, env)
    drivers.write_results(FLAGS.out, md, {"env": env, "results": results, "targets": TARGETS})
    print(md)
    return 0


def _torch_version():
    try:
        import torch
        return torch.__version__
    except ImportError:
        return None


if __name__ == "__main__":
    cli.run(main, logging.WARNING)
