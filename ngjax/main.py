"""Entry point: ``python -m ngjax.main --cell=rnn --seq_len=50 --workdir=runs/rnn50``.

Flags -> Config (an ``--experiment`` supplies defaults, flags given on the command line win)
-> ``train.train_and_evaluate``. Nothing below this file reads flags.
"""

from __future__ import annotations

import dataclasses
import os
import sys

from absl import app, flags, logging

from ngjax.config import Config, ConfigError, normalize_remove, validate
from ngjax.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, InterruptedRun, NgjaxError

D = Config()
FLAGS = flags.FLAGS
flags.DEFINE_string("experiment", None, "Named variant from experiments/ (e.g. seed_lstm); flags given override it.")
flags.DEFINE_string("workdir", None, "Run folder: config.json, metrics.jsonl, checkpoints/. Default runs/<experiment or cell_seqN>.")
flags.DEFINE_string("cache_dir", None, "Where token arrays and GloVe tables are cached (default $NGJAX_CACHE or ~/.cache/ngjax).")
flags.DEFINE_string("restore_from", None, "Initialise from another run's checkpoint (workdir, checkpoints/ or checkpoints/N).")
flags.DEFINE_string("coordinator_address", None, "Multi-host: HOST:PORT of process 0 (jax.distributed).")
flags.DEFINE_integer("num_processes", None, "Multi-host: number of processes.")
flags.DEFINE_integer("process_id", None, "Multi-host: this process's index (0 writes the files).")
flags.DEFINE_boolean("report", True, "At the end, write plots/, report.txt and samples.md (see ngjax.report).")
flags.DEFINE_string("cell", D.cell, "Recurrent cell: lstm | rnn.")
flags.DEFINE_integer("hidden_size", D.hidden_size, "Units of the recurrent layer.")
flags.DEFINE_string("embeddings", D.embeddings, "glove (frozen pretrained) | random (trainable, uniform(-0.05, 0.05)).")
flags.DEFINE_integer("embed_dim", None, "Embedding dimension; default: the GloVe file's (random: 100).")
flags.DEFINE_string("glove_path", None, "GloVe text file (.txt, .txt.gz, a.zip[:member]); default: bundled GloVe 6B 50d.")
flags.DEFINE_boolean("mask_padding", D.mask_padding, "Carry the state unchanged across padding (the seed does not).")
flags.DEFINE_string("data_dir", None, "20news-bydate.tar.gz or its extracted folder; default: scikit-learn download.")
flags.DEFINE_list("remove", [], "Parts to strip, as scikit-learn's remove=: headers,footers,quotes.")
flags.DEFINE_integer("num_words", D.num_words, "Keras Tokenizer num_words: ids < num_words are kept.")
flags.DEFINE_integer("seq_len", D.seq_len, "Sequence length after padding/truncation.")
flags.DEFINE_string("padding", D.padding, "pre | post.")
flags.DEFINE_string("truncating", D.truncating, "pre | post.")
flags.DEFINE_float("val_fraction", D.val_fraction, "Stratified validation split carved from train (0 = none, the seed's way).")
flags.DEFINE_integer("val_seed", D.val_seed, "Seed of the validation split.")
flags.DEFINE_integer("batch_size", D.batch_size, "Batch size.")
flags.DEFINE_integer("epochs", D.epochs, "Epochs to train (a finished run continues when this grows).")
flags.DEFINE_float("learning_rate", D.learning_rate, "Adam learning rate.")
flags.DEFINE_string("embedding_optimizer", D.embedding_optimizer,
                    "adam (the seed's dense Adam over the whole table) | lazy_adam (only the batch's rows; "
                    "a different optimizer, faster; --embeddings=random only).")
flags.DEFINE_string("adam", D.adam,
                    "Adam's update rule: keras (the seed's: epsilon added to sqrt(v) before the bias "
                    "correction, as Keras/TensorFlow do) | optax (optax's and PyTorch's form).")
flags.DEFINE_integer("seed", D.seed, "Seed of init and shuffling.")
flags.DEFINE_integer("seeds", D.seeds, "Train K independent replicas (seeds seed..seed+K-1) at once; metrics give mean/std.")
flags.DEFINE_string("shard", D.shard, "With several devices: data (split batches) | seeds (split --seeds replicas) | none.")
flags.DEFINE_string("loop", D.loop, "epoch (one compiled program per epoch) | step (one per batch, for debugging).")
flags.DEFINE_integer("unroll", D.unroll, "Time-scan unroll; 0 = platform default (CPU 1, GPU/TPU up to 32).")
flags.DEFINE_integer("eval_batch_size", D.eval_batch_size, "Evaluation chunk size.")
flags.DEFINE_integer("checkpoint_every", D.checkpoint_every, "Save a checkpoint every N epochs (the last is always saved).")
flags.DEFINE_integer("keep_checkpoints", D.keep_checkpoints, "Checkpoints kept.")

CONFIG_FLAGS = [f.name for f in dataclasses.fields(Config) if f.name != "experiment"]


def load_experiment(name: str) -> dict:
    from experiments import load

    return load(name)


def config_from_flags() -> Config:
    values = {}
    if FLAGS.experiment:
        values.update(load_experiment(FLAGS.experiment))
        values["experiment"] = FLAGS.experiment
    for name in CONFIG_FLAGS:
        if FLAGS[name].present or name not in values:
            values[name] = FLAGS[name].value
    values["remove"] = normalize_remove(values.get("remove"))
    return validate(Config.from_dict(values))


def default_workdir(cfg: Config) -> str:
    name = cfg.experiment or f"{cfg.cell}_seq{cfg.seq_len}_{cfg.embeddings}"
    return os.path.join("runs", name)


def main(argv):
    if len(argv) > 1:
        print(f"error: unexpected arguments {argv[1:]}; all options are --flags (see --help)", file=sys.stderr)
        return EXIT_USAGE
    try:
        cfg = config_from_flags()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    workdir = FLAGS.workdir or default_workdir(cfg)
    from ngjax import distributed, train  # imports jax: after the flags are known good

    distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)

    try:
        summary = train.train_and_evaluate(cfg, workdir, FLAGS.cache_dir, FLAGS.restore_from,
                                           report=FLAGS.report)
    except InterruptedRun as e:
        print(f"interrupted: {e}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except NgjaxError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    final = summary.get("final") or {}
    if final and distributed.is_main():
        print(f"Done: {summary['epochs']} epochs, test accuracy {final['test_accuracy']:.4f}; "
              f"results in {workdir}/", flush=True)
    return 0


class _QuietLibraries:
    """Keep ngjax's INFO lines; show only warnings and errors from Orbax and other libraries."""

    def filter(self, record) -> bool:
        return record.levelno >= 30 or "/ngjax/" in record.pathname.replace(os.sep, "/")


def run():
    logging.set_verbosity(logging.INFO)
    logging.get_absl_handler().addFilter(_QuietLibraries())
    app.run(lambda argv: sys.exit(main(argv)))


if __name__ == "__main__":
    run()
