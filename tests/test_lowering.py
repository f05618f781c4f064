"""Every program a run compiles lowers for CUDA and TPU too (``jax.export`` on this CPU-only machine):
the training epoch, evaluation and prediction, for the seed's LSTM and SimpleRNN and for the best
model's student (BiGRU, max+mean pools over outputs and word vectors, dropout, the distillation
loss, clipping and the weight average) with the implementation ``--recurrence=auto`` picks for it
(the hand-written backward pass, each distinct word of a batch projected once, evaluation in
length-sorted chunks). A CPU-only operation, a host
callback or a bad dtype in any of them fails here before anyone pays for an accelerator. This is
lowering only: nothing ran on a GPU or TPU (issue #36 has the device check)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngjax.config import Config
from ngjax.distill.plugin import soft_loss
from ngjax.model import network
from ngjax.train import buckets, inputs, state as state_lib, steps

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
