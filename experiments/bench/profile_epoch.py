"""Where a long-document epoch's time goes: XLA's own per-operation trace of one warm training
epoch, summed by kind of work, for rows of experiments/bench/benchmark.py.

Command (what produced experiments/bench/results/profile_epoch.md):
    python -m experiments.bench.profile_epoch --data_dir=../shared/data/20news-bydate.tar.gz

Each row's model trains on the first ``--docs`` training documents (its length buckets planned on
them), one epoch to compile and warm up, then one epoch under ``jax.profiler`` with XLA's CPU
runtime timing every operation it executes (``--xla_cpu_enable_xprof_traceme``, which this module
sets before JAX starts). The table sums those operations' own times by kind, from XLA's names for
them; loops and branches are containers and not counted, so the kinds add up to the work done
(the two cores may run some of it side by side). Tracing costs time of its own, per operation, so
the shares, not the seconds, are the figures to compare.
"""

from __future__ import annotations

import collections
import dataclasses
import glob
import gzip
import json
import os
import re
import tempfile

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_enable_xprof_traceme=true").strip()

from absl import flags  # noqa: E402

from experiments import drivers  # noqa: E402
from experiments.bench.benchmark import VARIANTS, check_variants, epoch_program  # noqa: E402  (also defines --data_dir, --cache_dir)
from ngjax import cli  # noqa: E402
from ngjax.train import inputs
from ngjax.config import Config, ConfigError  # noqa: E402

flags.DEFINE_list("profile_variants", ["bigru256_buckets", "bigru256_manual", "bilstm256_buckets",
                                       "bilstm256_manual", "bilstm256_directions", "bilstm256_distinct"],
                  "Rows of experiments/bench/benchmark.py to profile.")
flags.DEFINE_integer("docs", 2048, "Training documents in the profiled epoch.")
flags.DEFINE_string("profile_out", "experiments/bench/results/profile_epoch", "Output path without extension.")
FLAGS = flags.FLAGS

# (kind, pattern on XLA's operation name); the first match wins. Matrix products inside the time
# loop run once per step, the others once per batch: told apart by how often each one ran.
KINDS = [
    ("matrix products", r"^(ynn_fusion|onednn|xnn_fusion|dot|dot_general|custom-call)"),
    ("loop outputs written in place (dynamic-update-slice)", r"dynamic-update-slice"),
    ("zero-filled buffers (broadcast)", r"^wrapped_broadcast"),
    ("transposing, reversing, concatenating copies", r"(copy|transpose|reverse|concatenate)"),
    ("gathers and scatters (embedding rows)", r"(gather|scatter)"),
    ("other element-wise (gates, masks, Adam, ...)", r"."),
]
CONTAINERS = re.compile(r"^(while|cond|conditional|call|ThunkExecutor|SlinkyThreadPool|\$)")


def kind_of(name: str) -> str:
    return next(kind for kind, pattern in KINDS if re.search(pattern, name))


def summarise(events, batches: int):
    """{kind: microseconds} of the leaf operations of a trace (matrix products split into those run
    once per time step and once per batch)."""
    total, count = collections.Counter(), collections.Counter()
    for e in events:
        if e.get("ph") == "X" and not CONTAINERS.match(e["name"]):
            total[e["name"]] += e.get("dur", 0)
            count[e["name"]] += 1
    out = collections.Counter()
    for name, us in total.items():
        kind = kind_of(name)
        if kind == "matrix products":
            kind += ", per time step" if count[name] > 2 * batches else ", per batch"
        out[kind] += us
    return out


def profile(name: str, docs: int):
    import jax

    cfg = inputs.resolve(Config(data_dir=FLAGS.data_dir, **VARIANTS[name]))
    prep = inputs.load_inputs(cfg, FLAGS.cache_dir)
    data = dataclasses.replace(prep.data, x_train=prep.data.x_train[:docs], y_train=prep.data.y_train[:docs])
    epoch, state, x, y = epoch_program(prep, data)
    state, sums = epoch(state, x, y)  # compile and warm up
    jax.block_until_ready(sums)
    with tempfile.TemporaryDirectory() as tmp:
        jax.profiler.start_trace(tmp, create_perfetto_trace=True)
        state, sums = epoch(state, x, y)
        jax.block_until_ready(sums)
        jax.profiler.stop_trace()
        path = glob.glob(os.path.join(tmp, "**", "*.trace.json.gz"), recursive=True)[0]
        with gzip.open(path) as f:
            trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    return summarise(events, -(-docs // cfg.batch_size))


def main(argv):
    check_variants(FLAGS.profile_variants, "profile_variants")
    from ngjax.train import devices as distributed

    distributed.set_cpu_devices(FLAGS.cpu_devices)  # the *_directions rows run on two
    if FLAGS.docs < 1:
        raise ConfigError(f"--docs={FLAGS.docs}: give 1 or more training documents to profile")
    rows = {name: profile(name, FLAGS.docs) for name in FLAGS.profile_variants}
    kinds = [k for k, _ in KINDS]
    kinds = [k + s for k in kinds[:1] for s in (", per time step", ", per batch")] + kinds[1:]
    head = "| kind of work | " + " | ".join(rows) + " |"
    lines = ["# Where a long-document epoch's time goes (XLA's per-operation trace)\n",
             f"Command: `{drivers.command('experiments.bench.profile_epoch')}`\n",
             f"One warm epoch over the first {FLAGS.docs} training documents per row; each cell: "
             "seconds of the operations' own time (share of the row's total). Tracing adds time per "
             "operation: compare shares.\n", head, "|---|" + "---|" * len(rows)]
    for k in kinds:
        cells = []
        for name, r in rows.items():
            total = sum(r.values())
            cells.append(f"{r.get(k, 0) / 1e6:.2f} ({r.get(k, 0) / total:.0%})")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(f"**{sum(r.values()) / 1e6:.2f}**" for r in rows.values()) + " |")
    md = "\n".join(lines) + "\n"
    drivers.write_results(FLAGS.profile_out, md, {"docs": FLAGS.docs, "rows": {n: dict(r) for n, r in rows.items()}})
    print(md)
    return 0


if __name__ == "__main__":
    cli.run(main)
