"""Every program a run of a Config compiles, built the way ``ngjax.train.loop`` builds it, with the
implementation ``--recurrence=auto`` / ``--shard=auto`` pick on a given platform; and their export
for other platforms (``jax.export``: lowering only, on this CPU). Used by test_lowering.py and, with
several host devices, by mesh_lowering_check.py (not a test file)."""

import dataclasses

import jax

from ngjax.run.report import _proba_fn
from ngjax.train import fastest, inputs, loop, state as state_lib, steps

ACCELERATORS = ("cuda", "tpu")


def run_programs(cfg, cache_dir, platform: str, mesh=None):
    """(the resolved Config, [(name, jitted program, example arguments)]): the training epoch, the
    test evaluation and prediction of ``cfg`` on ``platform`` (``mesh``: a device mesh to place
    the state and the data on, as a run on that many devices does)."""
    devices = 1 if mesh is None else len(mesh.devices.flat)
    cfg = fastest.resolve(cfg, None, platform, devices)
    run = inputs.load_inputs(cfg, cache_dir)
    spec = dataclasses.replace(run.spec, unroll=cfg.unroll or inputs.default_unroll(platform, cfg.seq_len))
    state = state_lib.place(state_lib.init_state(cfg.seed, cfg.seeds, spec, run.tx, run.table), mesh, cfg.shard,
                            cfg.seeds > 1)
    train_xy = run.train_arrays()
    splits, batch_sharding = loop._place_data(run.data, train_xy, mesh, cfg.shard)
    programs = steps.compile_programs(cfg, spec, run.tx, state, batch_sharding,
                                      steps.bucket_plans(run.data, cfg, train_xy[0]),
                                      **({"loss": run.loss} if run.loss else {}))
    params = state_lib.full_params(state)
    first = state_lib.full_params(state_lib.replica(state, 0)) if cfg.seeds > 1 else params
    return cfg, [("epoch", programs.epoch, (state, *splits["train"])),
                 ("evaluate", programs.evaluate["test"], (params, *splits["test"])),
                 ("predict", _proba_fn(spec), (first, splits["test"][0]))]


def export(program, args, platforms=("cpu",) + ACCELERATORS):
    """``jax.export`` of a jitted program for ``platforms``; fails on an operation one of them lacks,
    and on a host callback inside the program."""
    exp = jax.export.export(program, platforms=platforms)(*args)
    assert exp.platforms == tuple(platforms)
    assert "callback" not in exp.mlir_module()  # no host round trip inside a program
    return exp
