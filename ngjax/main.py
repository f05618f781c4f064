"""Train a classifier: python -m ngjax.main --cell=rnn --seq_len=50 --workdir=runs/rnn50 (the same command resumes it).

Flags (one per Config field, see ``ngjax.config``) -> Config -> ``train.train_and_evaluate``.
Nothing below this file reads flags.
"""

from __future__ import annotations

import os
import sys

from absl import flags

from ngjax import cli
from ngjax.config import Config
from ngjax.errors import EXIT_USAGE

cli.define_config_flags()
flags.DEFINE_string("workdir", None, "Run folder: config.json, metrics.jsonl, checkpoints/. Default runs/<experiment or cell_seqN>.", module_name="run")
flags.DEFINE_string("cache_dir", None, "Where token arrays and GloVe tables are cached (default $NGJAX_CACHE or ~/.cache/ngjax).", module_name="run")
flags.DEFINE_string("restore_from", None, "Initialise from another run's checkpoint (workdir, checkpoints/ or checkpoints/N).", module_name="run")
flags.DEFINE_string("coordinator_address", None, "Multi-host: HOST:PORT of process 0 (jax.distributed).", module_name="many hosts")
flags.DEFINE_integer("num_processes", None, "Multi-host: number of processes.", module_name="many hosts")
flags.DEFINE_integer("process_id", None, "Multi-host: this process's index (0 writes the files).", module_name="many hosts")
flags.DEFINE_integer("cpu_devices", None, "On CPU: split the host into N JAX devices before JAX starts (0: one). "
                     "Default: 2 where --shard=auto runs a bidirectional layer's two directions on two cores, else one.",
                     module_name="speed")
flags.DEFINE_boolean("restart", False, "Start the run in --workdir over: its files are first moved to "
                     "WORKDIR/attic/<UTC time>/ (nothing is deleted). For a run that cannot continue (damaged "
                     "checkpoints, another config).", module_name="run")
flags.DEFINE_boolean("report", True, "At the end, write plots/, report.txt and samples.md (see ngjax.report).", module_name="run")
FLAGS = flags.FLAGS


def default_workdir(cfg: Config) -> str:
    name = cfg.experiment or f"{cfg.cell}_seq{cfg.seq_len}_{cfg.embeddings}"
    return os.path.join("runs", name)


def main(argv) -> int:
    if len(argv) > 1:
        print(f"error: unexpected arguments {argv[1:]}; all options are --flags (see --help)", file=sys.stderr)
        return EXIT_USAGE
    cfg = cli.config_from_flags()
    workdir = cli.folder_flag("workdir", FLAGS.workdir) or default_workdir(cfg)
    cli.folder_flag("cache_dir", FLAGS.cache_dir)
    from ngjax.run import workdir as workdir_lib
    from ngjax.train import devices as distributed, fastest, loop as train  # imports jax: after the flags are known good

    cpu_devices = FLAGS.cpu_devices
    if cpu_devices is None:
        cpu_devices = fastest.cpu_devices(cfg, None if FLAGS.restart else workdir_lib.saved_config(workdir))
    distributed.set_cpu_devices(cpu_devices)
    distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
    summary = train.train_and_evaluate(cfg, workdir, FLAGS.cache_dir, FLAGS.restore_from, report=FLAGS.report,
                                       restart=FLAGS.restart)
    final = summary.get("final") or {}
    if "test_accuracy" not in final:  # --notest_each_epoch: the reported epoch's
        final = summary.get("selected") or {}
    if final and distributed.is_main():
        print(f"Done: {summary['epochs']} epochs, test accuracy {final['test_accuracy']:.4f}; "
              f"results in {workdir}/", flush=True)
    return 0


if __name__ == "__main__":
    cli.run(main)
