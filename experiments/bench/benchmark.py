"""Seconds per training epoch: ngjax against Keras 3 (JAX backend) and PyTorch, in one run.

Command (what produced experiments/bench/results/benchmark.md):
    python -m experiments.bench.benchmark --data_dir=../shared/data/20news-bydate.tar.gz

Every framework trains the same model on the same token arrays (ngjax's own pipeline) with the
same optimizer steps per epoch (batch 32, the last batch smaller: 354 steps on 20NG), one
framework after another in this process. The first epoch (compile / warm-up) is reported
separately; the table shows the median of ``--repeats`` warm epochs and the ratio peer/ngjax.
Peers are optional (``pip install -e '.[bench]'``); a missing one is reported as such. Runs
unchanged on a GPU (each framework then uses it).

Keras gets the seed's recipe: an Embedding with one row per training word (134,138 rows).
ngjax stores the rows the tokenizer can emit (20,000), which gives the same results (see
README, Design); for the trainable embedding this is part of why ngjax is faster.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

from absl import flags, logging  # noqa: E402
from experiments import drivers
from experiments.bench.torch_peer import TORCH_EVAL_BATCH, bench_torch, time_epochs
from ngjax import cli  # noqa: E402
from ngjax.train import state as state_lib
from ngjax.train import inputs
from ngjax.train import steps

flags.DEFINE_string("data_dir", None, "20news-bydate.tar.gz or folder (default: scikit-learn download).")
flags.DEFINE_string("cache_dir", None, "Token/GloVe cache.")
flags.DEFINE_integer("repeats", 3, "Warm epochs timed per framework and variant.")
flags.DEFINE_list("variants", ["seed", "seq50", "seq100", "rnn", "random_emb", "random_emb_lazy", "bigru256",
                                "bigru256_buckets", "bigru256_manual", "bigru256_directions", "bilstm256",
                                "bilstm256_buckets", "bilstm256_manual", "bilstm256_directions", "bigru256_distinct",
                                "bilstm256_distinct"],
                  "Variants to time.")
flags.DEFINE_integer("cpu_devices", 2, "CPU devices JAX starts with (--cpu_devices of ngjax.main): the *_directions "
                     "and *_distinct rows run a layer's two directions on two of them; every other row uses one "
                     "device.")
flags.DEFINE_list("peers", ["keras", "torch"], "Peers to time (skipped when not installed).")
flags.DEFINE_list("user_rows", ["bigru256", "bilstm256"],
                  "Rows also timed as a user waits for them: the epoch `python -m ngjax.main` prints with the row's "
                  "model options and no speed option (training plus the test set's evaluation, the defaults' "
                  "implementation), beside Keras' fit with the test set as validation_data and PyTorch's loop with "
                  "its evaluation of the test set ('' for none).")
flags.DEFINE_string("out", "experiments/bench/results/benchmark", "Output path without extension.")
flags.DEFINE_boolean("compile_cache", True, "Also time a cold and a warm launch with a persistent compilation cache.")
FLAGS = flags.FLAGS

from experiments.bench.rows import PEER_TABLE, PEERS_FROM, REFERENCE, VARIANTS  # noqa: E402


def check_variants(names, flag: str) -> None:
    """ConfigError naming the unknown rows of ``--FLAG`` and the known ones."""
    from ngjax.config import ConfigError

    unknown = [n for n in names if n not in VARIANTS]
    if unknown or not names:
        raise ConfigError(f"--{flag}: unknown {unknown or 'empty list'}; rows of experiments/bench/benchmark.py: "
                          f"{', '.join(VARIANTS)}")


def epoch_program(prep, data=None):
    """(compiled epoch, initial state, x, y) of a row's ngjax model on ``data`` (default: the row's
    own). One device, except for --shard=directions (the two devices of its mesh)."""
    import dataclasses

    from ngjax.train import devices as distributed

    data = prep.data if data is None else data
    spec, mesh = prep.spec, None
    if prep.cfg.shard == "directions":
        mesh = distributed.make_mesh("directions", 1, prep.cfg.batch_size, prep.cfg.eval_batch_size)
        spec = dataclasses.replace(spec, direction_mesh=mesh)
    state = state_lib.place(state_lib.create_state(0, spec, prep.tx, prep.table), mesh, prep.cfg.shard, False)
    (x, y), _ = distributed.place_arrays((data.x_train, data.y_train), mesh, prep.cfg.shard)
    epoch = steps.compile_programs(prep.cfg, spec, prep.tx, state, None, steps.bucket_plans(data, prep.cfg)).epoch
    return epoch, state, x, y


def bench_ngjax(prep, repeats):
    import jax

    epoch, state, x, y = epoch_program(prep)
    state = [state]

    def run():
        state[0], sums = epoch(state[0], x, y)
        jax.block_until_ready(sums)

    return time_epochs(run, repeats)


def bench_keras(prep, repeats, table="keras", evaluate=False):
    """Keras' ``fit`` for one epoch; ``evaluate``: one ``fit(epochs=1 + repeats)`` call with the
    test set as ``validation_data``, as a user runs it (Keras then evaluates it at the end of every
    epoch, as the seed's script does), each epoch timed by a callback from its start to its end."""
    from experiments.bench import keras_peer

    model = keras_peer.build(prep, table=table)
    x, y = prep.data.x_train, prep.data.y_train
    if evaluate:
        import keras

        class Clock(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self.t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):  # after the validation pass
                self.seconds.append(time.perf_counter() - self.t)

        clock = Clock()
        model.fit(x, y, batch_size=prep.cfg.batch_size, epochs=1 + repeats, shuffle=True, verbose=0,
                  validation_data=(prep.data.x_test, prep.data.y_test), callbacks=[clock])
        return clock.seconds[0], clock.seconds[1:]

    def run():
        model.fit(x, y, batch_size=prep.cfg.batch_size, epochs=1, shuffle=True, verbose=0)

    return time_epochs(run, repeats)


def option_flags(options: dict) -> list:
    """Config options as ngjax.main's command-line flags."""
    out = []
    for key, value in options.items():
        if isinstance(value, bool):
            out.append(f"--{key}" if value else f"--no{key}")
        else:
            out.append(f"--{key}={value}")
    return out


def bench_cli(name, repeats, data_dir, cache_dir):
    """(first epoch, [warm epochs]) as ``python -m ngjax.main`` prints them for row ``name``'s model
    options and no speed option: the default implementation, training plus the test evaluation."""
    import re
    import subprocess
    import tempfile

    from ngjax.errors import NgjaxError

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "ngjax.main", *option_flags(VARIANTS[name]), f"--epochs={1 + repeats}",
               "--report=false", f"--workdir={os.path.join(tmp, 'run')}"]
        cmd += [f"--data_dir={data_dir}"] if data_dir else []
        cmd += [f"--cache_dir={cache_dir}"] if cache_dir else []
        env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        seconds = [float(m) for m in re.findall(r"^Epoch \d+/\d+ - ([0-9.]+)s", r.stdout, re.M)]
        if r.returncode or len(seconds) != 1 + repeats:
            raise NgjaxError(f"{' '.join(cmd)} failed (exit {r.returncode}): {r.stderr.strip()[-500:]}")
        chosen = re.search(r"^Processes: .*$", r.stdout, re.M)
        return seconds[0], seconds[1:], " ".join(cmd[1:]), chosen.group(0) if chosen else ""


def user_rows(names, repeats):
    """The rows a user waits for: ngjax.main's printed epoch beside the peers' fit-with-evaluation."""
    import re

    from ngjax.config import Config

    rows = []
    for name in names:
        first, warm, command, placement = bench_cli(name, repeats, FLAGS.data_dir, FLAGS.cache_dir)
        command = re.sub(r"--workdir=\S+", "--workdir=W", command).replace(FLAGS.data_dir or "\0", "$D")
        row = {"variant": name, "command": "python " + command,
               "placement": placement, "ngjax": {"first": first, "warm": warm, "median": statistics.median(warm)}}
        print(f"{name} (ngjax.main epoch with test evaluation): {row['ngjax']['median']:.2f} s", flush=True)
        cfg = inputs.resolve(Config(data_dir=FLAGS.data_dir, **dict(VARIANTS[name], recurrence="autodiff",
                                                                   shard="data")))
        prep = inputs.load_inputs(cfg, FLAGS.cache_dir)
        for peer in FLAGS.peers:
            try:
                first, warm = PEERS[peer](prep, repeats, PEER_TABLE.get(name, "keras"), evaluate=True)
            except ImportError as e:
                row[peer] = {"missing": str(e)}
                continue
            median = statistics.median(warm)
            row[peer] = {"first": first, "warm": warm, "median": median, "ratio": median / row["ngjax"]["median"]}
            print(f"{name}: {peer} with test evaluation {median:.2f} s, {row[peer]['ratio']:.2f}x ngjax", flush=True)
        rows.append(row)
    return rows


def user_table(rows) -> list:
    """Markdown lines of the user rows."""
    if not rows:
        return []
    lines = ["\n## The epoch a user waits for: training plus the test set's evaluation\n",
             "ngjax: the epoch time `python -m ngjax.main` prints (median of the warm epochs of one run; first "
             "epoch, compile included, in brackets), with the row's model options and no speed option, so "
             "the implementation is the defaults' choice (printed on the `Processes:` line). Keras: "
             "one `fit(..., epochs=1 + repeats, validation_data=(x_test, y_test))`, each epoch timed from its "
             "start to its end (after the validation pass) by a callback; PyTorch: the training loop, then "
             f"the test set under `torch.no_grad()` in batches of {TORCH_EVAL_BATCH}. Same token arrays, same "
             "model, same batch size.\n",
             "| row | ngjax.main s/epoch (first) | " + " | ".join(f"{p} s/epoch (first) | {p}/ngjax"
                                                          for p in FLAGS.peers) + " |",
             "|" + "---|" * (2 + 2 * len(FLAGS.peers))]
    for r in rows:
        cells = [r["variant"], f"{r['ngjax']['median']:.2f} ({r['ngjax']['first']:.1f})"]
        for p in FLAGS.peers:
            if "median" in r.get(p, {}):
                cells += [f"{r[p]['median']:.2f} ({r[p]['first']:.1f})", f"**{r[p]['ratio']:.2f}x**"]
            else:
                cells += ["not installed", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {r['variant']}: `{r['command']}` ({r['placement']})" for r in rows]
    return lines


PEERS = {"keras": bench_keras, "torch": bench_torch}


def bench_compile_cache(data_dir, cache_dir):
    """First-epoch seconds (compile included) of `ngjax.main` launched twice with one persistent
    compilation cache (what launch.sh sets): cold, then warm."""
    import re
    import subprocess
    import tempfile

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=os.path.join(tmp, "xla"))
        for label in ("cold", "warm"):
            cmd = [sys.executable, "-m", "ngjax.main", "--epochs=1", "--report=false",
                   f"--workdir={os.path.join(tmp, label)}"]
            cmd += [f"--data_dir={data_dir}"] if data_dir else []
            cmd += [f"--cache_dir={cache_dir}"] if cache_dir else []
            r = subprocess.run(cmd, capture_output=True, text=True, env=env)
            m = re.search(r"Epoch 1/1 - ([0-9.]+)s", r.stdout)
            out[label] = float(m.group(1)) if m else None
    return out


def _version(mod):
    try:
        return __import__(mod).__version__
    except Exception:
        return None


def main(argv):
    import jax

    from ngjax.config import Config

    users = [n for n in FLAGS.user_rows if n]
    if FLAGS.variants or not users:  # at least one row of either kind
        check_variants(FLAGS.variants, "variants")
    if users:
        check_variants(users, "user_rows")
    from ngjax.train import devices as distributed
    from ngjax.errors import NgjaxError

    distributed.set_cpu_devices(FLAGS.cpu_devices)
    results = []
    for name in FLAGS.variants:
        # the reference implementation unless the row names its own (--recurrence, --shard)
        cfg = inputs.resolve(Config(data_dir=FLAGS.data_dir, **dict(REFERENCE, **VARIANTS[name])))
        prep = inputs.load_inputs(cfg, FLAGS.cache_dir)
        row = {"variant": name, "cell": cfg.cell, "seq_len": cfg.seq_len, "embeddings": cfg.embeddings,
               "embed_dim": cfg.embed_dim, "steps_per_epoch": -(-prep.data.x_train.shape[0] // cfg.batch_size)}
        try:
            first, warm = bench_ngjax(prep, FLAGS.repeats)
        except NgjaxError as e:  # --shard=directions with other than two devices
            print(f"{name}: skipped: {e}", flush=True)
            continue
        row["ngjax"] = {"first": first, "warm": warm, "median": statistics.median(warm)}
        print(f"{name}: ngjax {row['ngjax']['median']:.3f} s/epoch (first {first:.2f} s)", flush=True)
        measured = {r["variant"]: r for r in results}
        for peer in FLAGS.peers:
            source = measured.get(PEERS_FROM.get(name), {}).get(peer)
            if source is not None:  # the same peer model, timed for the row this one names
                row[peer] = {k: source[k] for k in source if k != "ratio"}
                if "median" in source:
                    row[peer]["ratio"] = source["median"] / row["ngjax"]["median"]
                    row[peer]["from"] = PEERS_FROM[name]
                continue
            try:
                first, warm = PEERS[peer](prep, FLAGS.repeats, PEER_TABLE.get(name, "keras"))
            except ImportError as e:
                row[peer] = {"missing": str(e)}
                print(f"{name}: {peer} not installed ({e})", flush=True)
                continue
            row[peer] = {"first": first, "warm": warm, "median": statistics.median(warm),
                         "ratio": statistics.median(warm) / row["ngjax"]["median"]}
            print(f"{name}: {peer} {row[peer]['median']:.3f} s/epoch (first {first:.2f} s), "
                  f"{row[peer]['ratio']:.2f}x ngjax", flush=True)
        results.append(row)

    users = user_rows(users, FLAGS.repeats)
    cache = bench_compile_cache(FLAGS.data_dir, FLAGS.cache_dir) if FLAGS.compile_cache else None
    if cache:
        print(f"compilation cache: first epoch {cache['cold']} s cold, {cache['warm']} s warm", flush=True)
    dev = jax.devices()[0]
    env = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
           "device": f"{dev.platform}: {getattr(dev, 'device_kind', '')} (x{jax.device_count()})",
           "python": platform.python_version(),
           "jax": jax.__version__, "keras": _version("keras"), "torch": _version("torch"),
           "repeats": FLAGS.repeats}
    head = "| variant | steps/epoch | ngjax s/epoch (first) | " + " | ".join(
        f"{p} s/epoch (first) | {p}/ngjax" for p in FLAGS.peers) + " |"
    lines = [head, "|" + "---|" * (3 + 2 * len(FLAGS.peers))] if results else []
    for r in results:
        cells = [r["variant"], str(r["steps_per_epoch"]), f"{r['ngjax']['median']:.3f} ({r['ngjax']['first']:.1f})"]
        for p in FLAGS.peers:
            if "median" in r.get(p, {}):
                same = f" (= {r[p]['from']})" if r[p].get("from") else ""
                cells += [f"{r[p]['median']:.3f} ({r[p]['first']:.1f}){same}", f"**{r[p]['ratio']:.2f}x**"]
            else:
                cells += ["not installed", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    if cache and cache.get("cold") and cache.get("warm"):
        lines.append(f"\nFirst epoch of `python -m ngjax.main` (seed config, compile + train + test "
                     f"evaluation) with a persistent compilation cache: {cache['cold']:.2f} s cold, "
                     f"{cache['warm']:.2f} s warm (second launch).")
    if any(name in PEERS_FROM for name in FLAGS.variants):
        lines.append("\nbigru256 / bilstm256: trainable 50-d table (20k rows), Bidirectional GRU(64) / LSTM(64) "
                     "over 256 post-truncated tokens, global max pool, dropout 0.5, Dense(20), batch 64 (177 "
                     "steps). ngjax masks padding; Keras and PyTorch do not. The *_buckets rows run the same "
                     "ngjax model with --length_buckets=8 against the peer times of the row named in brackets; the "
                     "*_manual rows add --manual_backward (the hand-written backward pass of the masked "
                     "recurrence, ngjax.model.recurrence); the *_directions rows add --shard=directions: each direction "
                     f"of the layer on its own CPU device (--cpu_devices={FLAGS.cpu_devices}), so on its own core, "
                     "side by side; the *_distinct rows add --distinct_words to those (the first layer's input "
                     "projection and its gradients once per distinct word of a batch, gathered back per token); "
                     "every other row runs on one device.")
    if "random_emb_lazy" in FLAGS.variants:
        lines.append("\nrandom_emb_lazy is a different optimizer (`--embedding_optimizer=lazy_adam`): ngjax "
                     "and PyTorch (SparseAdam on a sparse Embedding) update only the rows of the batch's "
                     "ids; Keras has no lazy Adam and runs the seed's dense Adam, so its ratio there "
                     "compares optimizers, not implementations.")
    lines += user_table(users)
    md = (f"# Training speed, seconds per epoch (median of {FLAGS.repeats} warm epochs)\n\n"
          f"Command: `python -m experiments.bench.benchmark {' '.join(sys.argv[1:])}`\n\n"
          + ", ".join(f"{k}: {v}" for k, v in env.items()) + "\n\n" + "\n".join(lines) + "\n")
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    drivers.write_results(FLAGS.out, md, {"env": env, "results": results, "user_rows": users,
                                        "compile_cache": cache})
    print(md)
    return 0


if __name__ == "__main__":
    cli.run(main, logging.WARNING)  # bad input: one "error:" line and a non-zero exit
