"""The long-document benchmark's arithmetic: FLOPs per epoch of the BiLSTM / BiGRU(64) rows of
experiments/bench/benchmark.py, counted from the shapes (2 FLOPs per multiply-add), unbucketed and with
the rows' 8 length buckets, and the rate each framework's measured s/epoch implies.

Command (what produced experiments/bench/results/long_flops.md):
    python -m experiments.bench.long_flops --data_dir=../shared/data/20news-bydate.tar.gz
Per token: both directions' input projections (E x G*H each) and recurrent products (H x G*H each)
forward; backward the projection's weight and input gradients and the recurrence's state and kernel
gradients, twice the forward. Head, Adam and gate arithmetic are left out (small next to these).
"""

from __future__ import annotations

import os

from absl import flags

from experiments import drivers
from experiments.bench.benchmark import VARIANTS
from ngjax.train import buckets, inputs
from ngjax import cli, files
from ngjax.model.cells import CELLS
from ngjax.config import Config

# --data_dir and --cache_dir are experiments.bench.benchmark's flags (defined when it is imported)
flags.DEFINE_string("benchmark_json", "experiments/bench/results/benchmark.json", "A benchmark.py result: its s/epoch "
                    "are turned into GFLOP/s.")
flags.DEFINE_string("flops_out", "experiments/bench/results/long_flops", "Output path without extension.")
FLAGS = flags.FLAGS


def flops_per_token(cell: str, embed_dim: int, hidden: int, directions: int = 2) -> int:
    """Forward + backward FLOPs per position of a bidirectional layer (see the module docstring)."""
    gates = CELLS[cell].gates * hidden
    forward = directions * 2 * (embed_dim * gates + hidden * gates)
    return 3 * forward


def main(argv):
    cfg = inputs.resolve(Config(**VARIANTS["bilstm256_buckets"], data_dir=FLAGS.data_dir))
    x = inputs.load_inputs(cfg, FLAGS.cache_dir).data.x_train
    n, seq_len = x.shape
    _, plan = buckets.plan(x, cfg.batch_size, cfg.length_buckets)
    full, bucketed = n * seq_len, sum((end - start) * length for start, end, length in plan)
    bench = ({r["variant"]: r for r in files.read_json(FLAGS.benchmark_json)["results"]}
             if os.path.exists(FLAGS.benchmark_json) else {})
    lines = [f"# FLOPs of the long-document rows\n\nCommand: `{drivers.command('experiments.bench.long_flops')}`\n",
             f"{n:,} documents x {seq_len} positions = {full:,}; the {cfg.length_buckets} length buckets compute "
             f"{bucketed:,} ({bucketed / full:.1%}).\n",
             "The *_distinct rates count the model's FLOPs, as the other rows do, not what runs: with "
             "--distinct_words the first layer's input projection and its two gradients are computed once per "
             "distinct word of a batch instead of once per position.\n",
             "| cell | kFLOP per position | GFLOP/epoch unbucketed | GFLOP/epoch bucketed | rates from "
             f"{FLAGS.benchmark_json} (GFLOP/s) |", "|---|---|---|---|---|"]
    for row, cell in (("bilstm256", "lstm"), ("bigru256", "gru")):
        per = flops_per_token(cell, cfg.embed_dim, cfg.hidden_size)
        g_full, g_buck = per * full / 1e9, per * bucketed / 1e9
        rates = []
        for name, work in ((row, g_full), (row + "_buckets", g_buck), (row + "_manual", g_buck),
                           (row + "_directions", g_buck), (row + "_distinct", g_buck)):
            r = bench.get(name, {})
            for who in ("ngjax", "keras", "torch"):
                secs = (r.get(who) or {}).get("median")
                if secs and not (name != row and who != "ngjax"):  # peers run the unbucketed row only
                    rates.append(f"{name} {who} {work / secs:.0f}")
        lines.append(f"| {cell} | {per / 1e3:.1f} | {g_full:,.0f} | {g_buck:,.0f} | {'; '.join(rates) or '-'} |")
    drivers.write_results(FLAGS.flops_out, "\n".join(lines) + "\n", {"documents": n, "positions": full,
                                                               "bucketed_positions": bucketed})
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    cli.run(main)
