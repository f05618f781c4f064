"""The compiled computation: a pure Adam step, whole epochs as one program, the run's programs.

``train_step(state, batch) -> (state, metrics)`` is pure; callers jit it (with the state
donated). ``train_epoch`` runs one epoch as a single compiled program: the epoch's permutation
is drawn on device from ``fold_in(fold_in(key(seed), SHUFFLE), epoch)``, the full batches run
in a ``lax.scan`` and the last partial batch (Keras' smaller final batch: 11,314 = 353 * 32 +
18 gives 354 steps) runs as one more step; with length buckets the batches come from
``ngjax.train.buckets``. ``--loop=step`` runs the same steps one jit call at a time, for debugging.
Evaluation is ``ngjax.train.evaluation``; ``compile_programs`` jits all of a run's programs.
Metrics are sums plus a count, normalised once per epoch on the host (``ngjax.train.metrics``).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Dict, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ngjax.train import buckets as buckets_lib
from ngjax.train import metrics, optim
from ngjax.train.devices import constrain
from ngjax.train.evaluation import (eval_chunk, eval_step, evaluate, evaluate_ensemble,  # noqa: F401 (re-exported)
                                    sorted_evaluation)
from ngjax.model import network as model_lib
from ngjax.config import Config
from ngjax.train.state import SHUFFLE, STATE_AXES, TrainState, dropout_key


# ----------------------------------------------------------------------------- the step
# A batch is a dict of named arrays: "tokens" int32[B, T], "labels" int32[B], and whatever a technique
# adds (distillation: "soft_targets" float32[B, C]); the epoch gathers every field the same way. A loss
# is ``loss(logits, batch) -> (mean loss, metric sums)``: cross-entropy by default, a technique's own
# otherwise (``ngjax.distill.plugin.soft_loss``).
Batch = Dict[str, Any]
Loss = Callable[[jax.Array, Batch], Tuple[jax.Array, Dict[str, jax.Array]]]


def cross_entropy(logits: jax.Array, batch: Batch):
    """The labels' mean cross-entropy and the metric sums (the seed's loss)."""
    sums, losses = metrics.batch_sums(logits, batch["labels"])
    return jnp.mean(losses), sums


def as_batch(tokens: jax.Array, fields: Any) -> Batch:
    """The batch dict of ``tokens`` and per-row ``fields``: a dict of named arrays, or the labels alone."""
    return {"tokens": tokens, **(fields if isinstance(fields, dict) else {"labels": fields})}


def train_step(state: TrainState, batch, *, spec: model_lib.ModelSpec, tx,
               loss: Loss = cross_entropy) -> Tuple[TrainState, Dict[str, jax.Array]]:
    """One Adam step on ``batch`` (a batch dict, or (tokens int32[B, T], labels int32[B] or a dict of
    per-row fields)); ``loss(logits, batch)`` gives the mean loss over B and the metric sums."""
    if not isinstance(batch, dict):
        batch = as_batch(*batch)
    tokens = batch["tokens"]
    if isinstance(tx, optim.LazyEmbeddingAdam):
        return _lazy_train_step(state, tokens, batch, spec=spec, tx=tx, loss=loss)

    rng = dropout_key(state) if spec.has_dropout else None

    def loss_fn(trainable):
        logits = model_lib.apply({**state.frozen, **trainable}, tokens, spec, rng)
        return loss(logits, batch)

    grads, sums = jax.grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params, opt_state = _replicated((optax.apply_updates(state.params, updates), opt_state), spec)
    return state.replace(step=state.step + 1, params=params, opt_state=opt_state), sums


def _replicated(tree, spec: model_lib.ModelSpec):
    """With the directions on two devices, the updated params and Adam state replicated, as placed
    (the dense kernel's would come out split over the devices, and the next epoch's call would
    then compile its program anew for that layout)."""
    if spec.direction_mesh is None:
        return tree
    from jax.sharding import NamedSharding, PartitionSpec as P

    return jax.lax.with_sharding_constraint(tree, NamedSharding(spec.direction_mesh, P()))


def _lazy_train_step(state: TrainState, tokens, batch: Batch, *, spec, tx, loss: Loss):
    """train_step with lazy Adam on the table: the gradient is taken for the batch's rows only."""
    table = state.params["embedding"]["table"]
    ids, local = optim.batch_rows(tokens, table.shape[0])
    rest = optim.without_table(state.params)
    rng = dropout_key(state) if spec.has_dropout else None

    def loss_fn(rest, rows):
        logits = model_lib.apply({**state.frozen, **rest, "embedding": {"table": rows}}, local, spec, rng)
        return loss(logits, batch)

    rows = table.at[ids].get(mode="fill", fill_value=0)
    (g_rest, g_rows), sums = jax.grad(loss_fn, argnums=(0, 1), has_aux=True)(rest, rows)
    updates, dense_state = tx.dense.update(g_rest, state.opt_state["dense"], rest)
    table, emb_state = tx.update_rows(table, state.opt_state["embedding"], ids, rows, g_rows)
    params = {**optax.apply_updates(rest, updates), "embedding": {"table": table}}
    params, dense_state, emb_state = _replicated((params, dense_state, emb_state), spec)
    return state.replace(step=state.step + 1, params=params,
                         opt_state={"dense": dense_state, "embedding": emb_state}), sums


# ----------------------------------------------------------------------------- epochs
def epoch_permutation(rng: jax.Array, epoch: jax.Array, n: int) -> jax.Array:
    return jax.random.permutation(jax.random.fold_in(jax.random.fold_in(rng, SHUFFLE), epoch), n)


def epoch_batches(n: int, batch_size: int) -> Tuple[int, int]:
    """(full batches, size of the last partial batch or 0)."""
    return n // batch_size, n % batch_size


def _take(y: Any, idx) -> Any:
    """Rows ``idx`` of the per-row fields: the labels int32[N], or a dict of named arrays."""
    return jax.tree_util.tree_map(lambda v: v[idx], y)


def train_epoch(state: TrainState, x: jax.Array, y: Any, *, spec, tx, batch_size: int,
                batch_sharding=None, buckets=None, loss: Loss = cross_entropy) -> Tuple[TrainState, Dict[str, jax.Array]]:
    """One epoch as one program. x: int32[N, T], y: the labels int32[N] (on device) or a dict of
    per-row fields ("labels" and what a technique adds); each batch is their rows, as a batch dict.

    Only what changes (params, Adam state, step) is carried through the scan; the frozen table
    is a loop constant, so the loop never copies it. With ``batch_sharding`` (data parallel) each
    full batch is split over the mesh's ``data`` axis; the last partial batch is not split. With
    ``buckets`` = (order, plan, pre_padded) batches come from length buckets (``ngjax.train.buckets``).
    """
    n = x.shape[0]
    frozen = state.frozen

    def step_at(length: Optional[int], sharding):
        def body(carry, idx):
            params, opt_state, step, acc = carry
            st = state.replace(params=params, opt_state=opt_state, step=step, frozen=frozen)
            tokens = x[idx] if length is None else buckets_lib.cut(x[idx], length, buckets[2])
            st, sums = train_step(st, as_batch(constrain(tokens, sharding), constrain(_take(y, idx), sharding)),
                                  spec=spec, tx=tx, loss=loss)
            return st.params, st.opt_state, st.step, metrics.add(acc, sums)
        return body

    carry = (state.params, state.opt_state, state.step, metrics.zero_sums())
    key = jax.random.fold_in(jax.random.fold_in(state.rng, SHUFFLE), state.epoch)
    if buckets is not None:
        order, plan, _ = buckets
        idx, ids, rest = buckets_lib.epoch_batches(key, jnp.asarray(order), plan, batch_size)
        carry = buckets_lib.run_batches(lambda length: step_at(length, batch_sharding), carry, idx, ids, plan)
        if rest.shape[0]:
            carry = step_at(plan[-1][2], None)(carry, rest)
    else:
        full, rest = epoch_batches(n, batch_size)
        perm = jax.random.permutation(key, n)
        if full:
            body = step_at(None, batch_sharding)
            carry, _ = jax.lax.scan(lambda c, i: (body(c, i), None), carry,
                                    perm[: full * batch_size].reshape(full, batch_size))
        if rest:
            carry = step_at(None, None)(carry, perm[full * batch_size:])
    params, opt_state, step, acc = carry
    params, opt_state = _replicated((params, opt_state), spec)
    return state.replace(params=params, opt_state=opt_state, step=step, epoch=state.epoch + 1), acc


def train_epoch_stepwise(state: TrainState, x: jax.Array, y: Any, *, spec, tx,
                         batch_size: int, jit_step=None, loss: Loss = cross_entropy):
    """The same epoch, one jitted step per batch (host loop): for debugging and tests."""
    n = x.shape[0]
    perm = np.asarray(jax.jit(epoch_permutation, static_argnums=2)(state.rng, state.epoch, n))
    jit_step = jit_step or jax.jit(functools.partial(train_step, spec=spec, tx=tx, loss=loss),
                                   donate_argnums=0)
    acc = None
    for start in range(0, n, batch_size):
        idx = perm[start:start + batch_size]
        state, sums = jit_step(state, (x[idx], _take(y, idx)))
        acc = sums if acc is None else metrics.add(acc, sums)
    return state.replace(epoch=state.epoch + 1), acc


@dataclasses.dataclass
class Programs:
    """The compiled functions of a run: ``epoch(state, x, y)``, ``step(state, batch)`` (for
    --loop=step) and ``evaluate[split](params, x, y)``; with --seeds=K all over the K replicas, and
    evaluation returns ``{"replicas", "ensemble"}`` (see :func:`evaluate_ensemble`)."""

    epoch: Callable
    step: Callable
    evaluate: Dict[str, Callable]


def compile_programs(cfg: Config, spec, tx, state: TrainState, batch_sharding, buckets: Dict[str, Any],
                     loss: Loss = cross_entropy) -> Programs:
    """``buckets``: per split, (order, plan, pre_padded) with --length_buckets, else None; and the
    training batches' distinct-word bounds with --distinct_words (see :func:`bucket_plans`). ``loss``:
    the training loss (a technique's, or cross-entropy); evaluation always reports the labels'."""
    spec = dataclasses.replace(spec, distinct_words=buckets.get("distinct", ()))
    epoch_fn = functools.partial(train_epoch, spec=spec, tx=tx, batch_size=cfg.batch_size,
                                 batch_sharding=batch_sharding, buckets=buckets.get("train"), loss=loss)
    param_axes = {**{k: None for k in state.frozen}, **{k: 0 for k in state.params}}
    evaluate_fns = {}
    for split in ("val", "test"):
        options = dict(spec=spec, batch_size=eval_chunk(cfg), batch_sharding=batch_sharding,
                       buckets=buckets.get(split))
        evaluate_fns[split] = jax.jit(functools.partial(evaluate_ensemble, param_axes=param_axes, **options)
                                      if cfg.seeds > 1 else functools.partial(evaluate, **options))
    if cfg.seeds > 1:  # K replicas in one program: vmap over the state, data and frozen table shared
        epoch_fn = jax.vmap(epoch_fn, in_axes=(STATE_AXES, None, None), out_axes=(STATE_AXES, 0))
    return Programs(epoch=jax.jit(epoch_fn, donate_argnums=0),
                    step=jax.jit(functools.partial(train_step, spec=spec, tx=tx, loss=loss), donate_argnums=0),
                    evaluate=evaluate_fns)


def bucket_plans(ds, cfg: Config, x_train=None) -> Dict[str, Any]:
    """Per split, (order, plan, pre_padded) for --length_buckets (none when it is off); with
    --distinct_words also ``"distinct"``: the training batch shapes' bounds on their distinct words
    (``buckets.distinct_bounds``). ``x_train``: what the epochs train on, if not ``ds.x_train``
    (--transductive appends the test texts)."""
    x_train = ds.x_train if x_train is None else x_train
    plans = {}
    pre = cfg.padding == "pre"
    if cfg.length_buckets:
        plans["train"] = (*buckets_lib.plan(x_train, cfg.batch_size, cfg.length_buckets), pre)
    if cfg.length_buckets or sorted_evaluation(cfg):
        # the fast recurrences evaluate each length's chunk in steps of a training batch (a
        # working set that fits the caches); the reference evaluates the chunk at once
        steps_of = (eval_step(cfg),) if sorted_evaluation(cfg) else ()
        for split, x in (("test", ds.x_test), ("val", ds.x_val)):
            if x is not None:
                plans[split] = (*buckets_lib.eval_plan(x, eval_chunk(cfg)), pre, *steps_of)
    if cfg.recurrence == "distinct":
        train = plans.get("train")
        plans["distinct"] = buckets_lib.distinct_bounds(x_train, cfg.batch_size, *(train[:2] if train else ()))
    return plans
