"""Every program a run compiles lowers for CUDA and TPU too (``jax.export`` on this CPU-only machine):
the training epoch, evaluation and prediction, for the seed's LSTM and SimpleRNN, the model-space
corners (GRU, bidirectional, stacked, each pool, dropout, a fine-tuned table, lazy Adam, several
seeds at once, length buckets, bfloat16), the best model's student (BiGRU, max+mean pools over outputs
and word vectors, dropout, the distillation loss, clipping and the weight average), and data parallel
over a 4-device mesh, each with the implementation ``--recurrence=auto`` / ``--shard=auto`` pick on
that platform. A CPU-only operation, a host callback or a bad dtype in any of them fails here before
anyone pays for an accelerator; the one CPU-only path (--shard=directions) is refused elsewhere with
one line. This is lowering only: nothing ran on a GPU or TPU (experiments/bench/device_check.py is the
device check)."""

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import run_module
from lowering import ACCELERATORS, export, run_programs

from ngjax.config import Config, ConfigError
from ngjax.distill.plugin import soft_loss
from ngjax.model import network
from ngjax.train import buckets, fastest, inputs, state as state_lib, steps

PLATFORMS = ("cpu", "cuda", "tpu")
CASES = {
    "seed_lstm": (Config(hidden_size=6), dict(cell="lstm"), False),
    "seed_rnn": (Config(cell="rnn", hidden_size=6), dict(cell="rnn"), False),
    "best_student": (Config(cell="gru", hidden_size=6, embeddings="random", embed_dim=8, bidirectional=True,
                            pool="maxmean", pool_embeddings=True, dropout=0.5, clip_norm=1.0, ema_decay=0.998),
                     dict(cell="gru", bidirectional=True, pool="maxmean", pool_embeddings=True, dropout=0.5,
                          trainable_embedding=True, mask_padding=True, manual_backward=True,
                          distinct_words=((4, 12, 16),)), True),
}


def _export(fn, *args):
    exp = jax.export.export(jax.jit(fn), platforms=PLATFORMS)(*args)
    text = exp.mlir_module()
    assert exp.platforms == PLATFORMS
    assert "callback" not in text  # no host round trip inside a program
    return exp


@pytest.mark.parametrize("name", sorted(CASES))
def test_train_epoch_evaluation_and_predict_lower_for_cuda_and_tpu(name):
    cfg, spec_kw, distilled = CASES[name]
    spec = network.ModelSpec(rows=50, embed_dim=8, hidden_size=6, num_classes=3, **spec_kw)
    tx = inputs.optimizer_for(cfg)
    table = None if spec.trainable_embedding else np.zeros((50, 8), np.float32)
    state = state_lib.init_state(0, 1, spec, tx, table)
    x = jnp.asarray(np.random.default_rng(0).integers(0, 50, (10, 12)), jnp.int32)
    y = jnp.zeros((10,), jnp.int32)
    if distilled:  # the student's batches carry soft targets and its loss mixes them in
        y = {"labels": y, "soft_targets": jnp.full((10, 3), 1 / 3, jnp.float32)}
        epoch = functools.partial(steps.train_epoch, spec=spec, tx=tx, batch_size=4, loss=soft_loss(0.7, 4.0))
    else:
        epoch = functools.partial(steps.train_epoch, spec=spec, tx=tx, batch_size=4)
    _export(epoch, state, x, y)
    params = state_lib.full_params(state)
    sort = None
    if distilled:  # what auto picks for it: the fast recurrence, so length-sorted evaluation
        assert inputs.implementation(cfg) == "distinct" and steps.sorted_evaluation(cfg.replace(recurrence="distinct"))
        sort = (*buckets.eval_plan(np.asarray(x), 6), False, 4)
    _export(functools.partial(steps.evaluate, spec=spec, batch_size=4, buckets=sort), params, x,
            jnp.zeros((10,), jnp.int32))
    _export(lambda p, t: jax.nn.softmax(network.apply(p, t, spec), -1), params, x)


GLOVE = dict(embed_dim=8)  # the frozen GloVe table of the seed (glove_path from the fixture)
RANDOM = dict(embeddings="random", embed_dim=8)
CORNERS = {
    "seed_lstm": GLOVE,
    "seed_rnn": dict(GLOVE, cell="rnn"),
    "gru": dict(GLOVE, cell="gru"),
    "bidirectional_gru": dict(GLOVE, cell="gru", bidirectional=True),
    "stacked_bilstm": dict(GLOVE, num_layers=2, bidirectional=True),
    "pool_max": dict(GLOVE, pool="max"),
    "pool_mean": dict(GLOVE, pool="mean"),
    "pool_maxmean_words": dict(RANDOM, pool="maxmean", pool_embeddings=True),
    "pool_attention": dict(GLOVE, cell="gru", pool="attention"),
    "dropout": dict(GLOVE, pool="max", embed_dropout=0.25, dropout=0.5),
    "finetuned_table": dict(GLOVE, finetune_embedding=True),
    "lazy_adam": dict(RANDOM, pool="max", embedding_optimizer="lazy_adam"),
    "seeds_3": dict(RANDOM, cell="gru", bidirectional=True, pool="maxmean", seeds=3, ema_decay=0.9),
    "length_buckets": dict(RANDOM, cell="gru", bidirectional=True, pool="max", length_buckets=2, clip_norm=1.0),
    "bfloat16_seed": dict(GLOVE, dtype="bfloat16"),
    "bfloat16_bigru": dict(RANDOM, cell="gru", bidirectional=True, pool="maxmean", dtype="bfloat16"),
}


@pytest.mark.parametrize("name", sorted(CORNERS))
def test_every_corner_lowers_for_cuda_and_tpu_with_the_implementation_auto_picks_there(name, corpus_dir, glove8,
                                                                                        tmp_path):
    cfg = Config(data_dir=corpus_dir, glove_path=glove8, seq_len=12, batch_size=4, hidden_size=6,
                 val_fraction=0.2, **CORNERS[name])
    resolved, programs = run_programs(cfg, str(tmp_path / "c"), "cuda")
    assert resolved.shard == "data"  # an accelerator never gets the CPU's directions on two cores
    masked = cfg.bidirectional or cfg.pool != "last"
    assert resolved.recurrence == ("autodiff" if not masked else "manual" if cfg.seeds > 1 else "distinct")
    for _, program, args in programs:
        export(program, args)


def test_the_cpu_only_path_is_refused_on_an_accelerator_and_never_picked_there():
    cfg = Config(cell="gru", bidirectional=True, pool="max", embeddings="random")
    for platform in ACCELERATORS:
        assert fastest.resolve(cfg, None, platform, 2).shard == "data"
        with pytest.raises(ConfigError, match=f"--shard=directions .* two CPU cores; on {platform} "):
            fastest.resolve(cfg.replace(shard="directions"), None, platform, 2)
        saved = json.loads(cfg.replace(shard="directions", recurrence="distinct").to_json())  # trained on a CPU
        assert fastest.resolve(cfg, saved, platform, 2).shard == "data"  # resumed on a GPU: not kept
    assert fastest.resolve(cfg, None, "cpu", 2).shard == "directions"


def test_data_parallel_and_sharded_seeds_over_four_devices_lower_for_cuda_and_tpu(corpus_dir, tmp_path):
    r = run_module("tests/mesh_lowering_check.py", corpus_dir, str(tmp_path / "c"),
                   env={"XLA_FLAGS": "--xla_force_host_platform_device_count=4"})
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got == {"data": {"devices": 4, "programs": 3}, "seeds": {"devices": 4, "programs": 3}}
