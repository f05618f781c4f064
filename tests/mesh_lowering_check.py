"""Run under XLA_FLAGS=--xla_force_host_platform_device_count=4 by test_lowering.py (not a test file):
a data-parallel run and a --shard=seeds run over a 4-device mesh, each program exported for cpu,
cuda and tpu. Prints one JSON line: per layout, the devices each export spans and the programs."""

import json
import os
import sys

import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lowering import export, run_programs  # noqa: E402

from ngjax.config import Config  # noqa: E402
from ngjax.train import devices  # noqa: E402

assert len(jax.devices()) == 4, jax.devices()
corpus, cache = sys.argv[1], sys.argv[2]
out = {}
for shard, more in (("data", dict(seeds=1)), ("seeds", dict(seeds=4))):
    cfg = Config(data_dir=corpus, embeddings="random", embed_dim=8, seq_len=12, batch_size=8, hidden_size=6,
                 cell="gru", bidirectional=True, pool="maxmean", eval_batch_size=16, shard=shard, **more)
    mesh = devices.make_mesh(shard, cfg.seeds, cfg.batch_size, cfg.eval_batch_size)
    _, programs = run_programs(cfg, cache, "cuda", mesh)
    spans = {export(program, args).nr_devices for _, program, args in programs}
    out[shard] = {"devices": max(spans), "programs": len(programs)}
print(json.dumps(out))
