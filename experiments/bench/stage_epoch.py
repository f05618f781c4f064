"""Where a recipe stage's epoch goes: the compiled training program, then the validation and test
evaluations, timed apart, for a recipe file's teacher or student configuration and the
implementation asked for (``auto``: the one a run gets here).

Command (the figures in experiments/ladder/README.md, "The recipe's time"):
    python -m experiments.bench.stage_epoch --stage=student --teacher=runs/best/teacher.npz \\
        --data_dir=../shared/data/20news-bydate.tar.gz [--recurrence=autodiff] [--shard=data]

Two epochs from a fresh state: the first includes the compilation, the second is the warm figure.
``--cpu_devices`` (default: what ``ngjax.main`` would start with for that configuration) is set
before JAX starts.
"""

from __future__ import annotations

import dataclasses
import time

from absl import flags

flags.DEFINE_string("experiment", "best", "The recipe file (TEACHER_CONFIG, CONFIG).")
flags.DEFINE_enum("stage", "teacher", ["teacher", "student"], "Which of the recipe's configurations.")
flags.DEFINE_string("teacher", None, "The student's teacher file (a recipe folder's teacher.npz).")
flags.DEFINE_string("recurrence", "auto", "--recurrence of the run.")
flags.DEFINE_string("shard", "auto", "--shard of the run.")
flags.DEFINE_integer("cpu_devices", None, "CPU devices (default: as ngjax.main picks them).")
flags.DEFINE_integer("epochs", 2, "Epochs timed (the first compiles).")
flags.DEFINE_string("data_dir", None, "20news-bydate.tar.gz or its folder.")
flags.DEFINE_string("cache_dir", None, "Token cache.")
FLAGS = flags.FLAGS


def configuration():
    from ngjax import variants
    from ngjax.config import Config, validate

    module = variants.module(FLAGS.experiment)
    values = dict(module.TEACHER_CONFIG if FLAGS.stage == "teacher" else module.CONFIG, data_dir=FLAGS.data_dir,
                  recurrence=FLAGS.recurrence, shard=FLAGS.shard)
    if FLAGS.stage == "student":
        values["teacher"] = FLAGS.teacher
    return validate(Config.from_dict(values))


def main(argv) -> int:
    cfg = configuration()
    from ngjax.train import devices, fastest

    devices.set_cpu_devices(fastest.cpu_devices(cfg) if FLAGS.cpu_devices is None else FLAGS.cpu_devices)
    import jax

    from ngjax.train import inputs, loop
    from ngjax.train.state import full_params, init_state, place
    from ngjax.train.steps import bucket_plans, compile_programs

    devices.use_compilation_cache(FLAGS.cache_dir)
    cfg = inputs.resolve(cfg, None)
    mesh = devices.make_mesh(cfg.shard, cfg.seeds, cfg.batch_size, cfg.eval_batch_size)
    run = inputs.load_inputs(cfg, FLAGS.cache_dir)
    if cfg.shard == "directions":
        run = dataclasses.replace(run, spec=dataclasses.replace(run.spec, direction_mesh=mesh))
    state = place(init_state(cfg.seed, cfg.seeds, run.spec, run.tx, run.table), mesh, cfg.shard, cfg.seeds > 1)
    train_xy = run.train_arrays()
    splits, sharding = loop._place_data(run.data, train_xy, mesh, cfg.shard)
    programs = compile_programs(cfg, run.spec, run.tx, state, sharding, bucket_plans(run.data, cfg, train_xy[0]),
                                **({"loss": run.loss} if run.loss else {}))
    print(f"{FLAGS.stage} of {FLAGS.experiment}: {len(train_xy[0])} training rows, {len(jax.devices())} x "
          f"{jax.devices()[0].platform}, --shard={cfg.shard}, --recurrence={cfg.recurrence}", flush=True)
    for epoch in range(1, FLAGS.epochs + 1):
        t = time.perf_counter()
        state, sums = programs.epoch(state, *splits["train"])
        jax.block_until_ready(sums)
        seconds = {"training": time.perf_counter() - t}
        params = full_params(state)
        for split in ("val", "test"):
            if split in splits:
                t = time.perf_counter()
                jax.block_until_ready(programs.evaluate[split](params, *splits[split]))
                seconds[split] = time.perf_counter() - t
        print(f"epoch {epoch}: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()), flush=True)
    return 0


if __name__ == "__main__":
    from ngjax import cli

    cli.run(main)
