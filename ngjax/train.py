"""Training: a pure jit-compiled Adam step, whole epochs as one program, evaluation, the run loop.

``train_step(state, batch) -> (state, metrics)`` is pure; callers jit it (with the state
donated). ``train_epoch`` runs one epoch as a single compiled program: the epoch's permutation
is drawn on device from ``fold_in(fold_in(key(seed), SHUFFLE), epoch)``, the full batches run
in a ``lax.scan`` and the last partial batch (Keras' smaller final batch: 11,314 = 353 * 32 +
18 gives 354 steps) runs as one more step. ``--loop=step`` runs the same steps one jit call at
a time, for debugging. Metrics are sums plus a count, normalised once per epoch on the host.
``train_and_evaluate`` is the run: a sequence of named stages.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from typing import Any, Callable, Dict, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ngjax import distributed, inputs as inputs_lib, metrics, optim, workdir as workdir_lib
from ngjax import model as model_lib
from ngjax.checkpoint import Checkpoints, restore_from_path
from ngjax.config import Config
from ngjax.errors import InterruptedRun, NgjaxError
from ngjax.interrupt import StopSignal
from ngjax.state import SHUFFLE, STATE_AXES, TrainState, abstract, epoch_of, full_params, init_state, place, replica


# ----------------------------------------------------------------------------- the step
def train_step(state: TrainState, batch: Tuple[jax.Array, jax.Array], *,
               spec: model_lib.ModelSpec, tx) -> Tuple[TrainState, Dict[str, jax.Array]]:
    """One Adam step on batch = (tokens int32[B, T], labels int32[B]); mean loss over B."""
    tokens, labels = batch
    if isinstance(tx, optim.LazyEmbeddingAdam):
        return _lazy_train_step(state, tokens, labels, spec=spec, tx=tx)

    def loss_fn(trainable):
        logits = model_lib.apply({**state.frozen, **trainable}, tokens, spec)
        sums, losses = metrics.batch_sums(logits, labels)
        return jnp.mean(losses), sums

    grads, sums = jax.grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return state.replace(step=state.step + 1, params=params, opt_state=opt_state), sums


def _lazy_train_step(state: TrainState, tokens, labels, *, spec, tx):
    """train_step with lazy Adam on the table: the gradient is taken for the batch's rows only."""
    table = state.params["embedding"]["table"]
    ids, local = optim.batch_rows(tokens, table.shape[0])
    rest = optim.without_table(state.params)

    def loss_fn(rest, rows):
        logits = model_lib.apply({**state.frozen, **rest, "embedding": {"table": rows}}, local, spec)
        sums, losses = metrics.batch_sums(logits, labels)
        return jnp.mean(losses), sums

    rows = table.at[ids].get(mode="fill", fill_value=0)
    (g_rest, g_rows), sums = jax.grad(loss_fn, argnums=(0, 1), has_aux=True)(rest, rows)
    updates, dense_state = tx.dense.update(g_rest, state.opt_state["dense"], rest)
    table, emb_state = tx.update_rows(table, state.opt_state["embedding"], ids, rows, g_rows)
    params = {**optax.apply_updates(rest, updates), "embedding": {"table": table}}
    return state.replace(step=state.step + 1, params=params,
                         opt_state={"dense": dense_state, "embedding": emb_state}), sums


# ----------------------------------------------------------------------------- epochs
def epoch_permutation(rng: jax.Array, epoch: jax.Array, n: int) -> jax.Array:
    return jax.random.permutation(jax.random.fold_in(jax.random.fold_in(rng, SHUFFLE), epoch), n)


def epoch_batches(n: int, batch_size: int) -> Tuple[int, int]:
    """(full batches, size of the last partial batch or 0)."""
    return n // batch_size, n % batch_size


def _constrain(a: jax.Array, sharding) -> jax.Array:
    return a if sharding is None else jax.lax.with_sharding_constraint(a, sharding)


def train_epoch(state: TrainState, x: jax.Array, y: jax.Array, *, spec, tx, batch_size: int,
                batch_sharding=None) -> Tuple[TrainState, Dict[str, jax.Array]]:
    """One epoch as one program. x: int32[N, T], y: int32[N] (on device).

    Only what changes (params, Adam state, step) is carried through the scan; the frozen table
    is a loop constant, so the loop never copies it. With ``batch_sharding`` (data parallel) each
    full batch is split over the mesh's ``data`` axis; the last partial batch is not split.
    """
    n = x.shape[0]
    full, rest = epoch_batches(n, batch_size)
    perm = epoch_permutation(state.rng, state.epoch, n)
    frozen = state.frozen

    def body(carry, idx):
        params, opt_state, step, acc = carry
        st = state.replace(params=params, opt_state=opt_state, step=step, frozen=frozen)
        batch = (_constrain(x[idx], sharding), _constrain(y[idx], sharding))
        st, sums = train_step(st, batch, spec=spec, tx=tx)
        return (st.params, st.opt_state, st.step, metrics.add(acc, sums)), None

    carry = (state.params, state.opt_state, state.step, metrics.zero_sums())
    if full:
        sharding = batch_sharding
        carry, _ = jax.lax.scan(body, carry, perm[: full * batch_size].reshape(full, batch_size))
    if rest:
        sharding = None
        carry, _ = body(carry, perm[full * batch_size:])
    params, opt_state, step, acc = carry
    return state.replace(params=params, opt_state=opt_state, step=step, epoch=state.epoch + 1), acc


def train_epoch_stepwise(state: TrainState, x: jax.Array, y: jax.Array, *, spec, tx,
                         batch_size: int, jit_step=None):
    """The same epoch, one jitted step per batch (host loop): for debugging and tests."""
    n = x.shape[0]
    perm = np.asarray(jax.jit(epoch_permutation, static_argnums=2)(state.rng, state.epoch, n))
    jit_step = jit_step or jax.jit(functools.partial(train_step, spec=spec, tx=tx),
                                   donate_argnums=0)
    acc = None
    for start in range(0, n, batch_size):
        idx = perm[start:start + batch_size]
        state, sums = jit_step(state, (x[idx], y[idx]))
        acc = sums if acc is None else metrics.add(acc, sums)
    return state.replace(epoch=state.epoch + 1), acc


def evaluate(params: Dict[str, Any], x: jax.Array, y: jax.Array, *, spec, batch_size: int,
             batch_sharding=None) -> Dict[str, jax.Array]:
    """Summed loss/correct/count over x: int32[N, T] in chunks of batch_size (one program)."""
    n = x.shape[0]
    chunks = -(-n // batch_size)
    pad = chunks * batch_size - n
    xp = jnp.pad(x, ((0, pad), (0, 0))).reshape(chunks, batch_size, -1)
    yp = jnp.pad(y, (0, pad)).reshape(chunks, batch_size)
    wp = (jnp.arange(chunks * batch_size) < n).astype(jnp.float32).reshape(chunks, batch_size)

    def chunk(args):
        xc, yc, wc = (_constrain(a, batch_sharding) for a in args)
        return metrics.batch_sums(model_lib.apply(params, xc, spec), yc, wc)[0]

    per = jax.lax.map(chunk, (xp, yp, wp))
    return jax.tree_util.tree_map(jnp.sum, per)


@dataclasses.dataclass
class Programs:
    """The compiled functions of a run: ``epoch(state, x, y)``, ``step(state, batch)`` (for
    --loop=step) and ``evaluate(params, x, y)``; vmapped over replicas with --seeds=K."""

    epoch: Callable
    step: Callable
    evaluate: Callable


def compile_programs(cfg: Config, spec, tx, state: TrainState, batch_sharding) -> Programs:
    epoch_fn = functools.partial(train_epoch, spec=spec, tx=tx, batch_size=cfg.batch_size,
                                 batch_sharding=batch_sharding)
    eval_fn = functools.partial(evaluate, spec=spec, batch_size=cfg.eval_batch_size,
                                batch_sharding=batch_sharding)
    if cfg.seeds > 1:  # K replicas in one program: vmap over the state, data and frozen table shared
        epoch_fn = jax.vmap(epoch_fn, in_axes=(STATE_AXES, None, None), out_axes=(STATE_AXES, 0))
        param_axes = {**{k: None for k in state.frozen}, **{k: 0 for k in state.params}}
        eval_fn = jax.vmap(eval_fn, in_axes=(param_axes, None, None))
    return Programs(epoch=jax.jit(epoch_fn, donate_argnums=0),
                    step=jax.jit(functools.partial(train_step, spec=spec, tx=tx), donate_argnums=0),
                    evaluate=jax.jit(eval_fn))


# ----------------------------------------------------------------------------- the run
def train_and_evaluate(cfg: Config, workdir: str, cache_dir: Optional[str] = None,
                       restore_from: Optional[str] = None, report: bool = True) -> dict:
    """Train ``cfg`` in ``workdir`` (resuming what is there) and return the summary dict."""
    t_start = time.perf_counter()
    cfg = inputs_lib.resolve(cfg)
    workdir_lib.check(cfg, workdir)
    mesh = distributed.make_mesh(cfg.shard, cfg.seeds, cfg.batch_size, cfg.eval_batch_size)
    run = inputs_lib.load_inputs(cfg, cache_dir)  # data and vectors first: a bad input leaves no workdir
    say = _printer()
    _open_workdir(workdir, run, say)
    ckpts = Checkpoints(workdir_lib.path(workdir, workdir_lib.CHECKPOINTS), cfg.keep_checkpoints)
    state, history = _initial_state(run, mesh, ckpts, restore_from, say)
    if distributed.is_main():
        workdir_lib.write_metrics(workdir, history)
    splits, batch_sharding = _place_data(run.data, mesh, cfg.shard, say)
    programs = compile_programs(cfg, run.spec, run.tx, state, batch_sharding)
    with StopSignal() as stop:
        state = _train_epochs(run, state, history, splits, programs, ckpts, workdir, stop, say)
    ckpts.close()
    if stop.signum is not None:
        raise InterruptedRun(f"interrupted by {stop.name} after epoch {epoch_of(state)}; checkpoint "
                             "saved. Run the same command to resume")
    summary = _summary(run, history, time.perf_counter() - t_start)
    if distributed.is_main():
        workdir_lib.write_summary(workdir, summary)
    if report and history:
        _report(workdir, run, state, history, say)
    return summary


def _printer() -> Callable:
    """print on process 0; nothing elsewhere (only process 0 prints and writes files)."""
    return print if distributed.is_main() else (lambda *a, **k: None)


def _open_workdir(workdir: str, run: inputs_lib.RunInputs, say) -> None:
    if distributed.is_main():
        workdir_lib.write_config(workdir, run.cfg)
        workdir_lib.save_vocabulary(workdir, run.data.tokenizer, run.data.target_names)
    say(model_lib.summary_table(run.spec, run.cfg.seq_len, run.keras_rows), flush=True)


def _initial_state(run: inputs_lib.RunInputs, mesh, ckpts: Checkpoints, restore_from, say):
    """(state, history): the workdir's newest good checkpoint, else --restore_from's weights with
    counters at 0, else a fresh state."""
    cfg = run.cfg
    state = place(init_state(cfg.seed, cfg.seeds, run.spec, run.tx, run.table), mesh, cfg.shard, cfg.seeds > 1)
    shapes = abstract(state)
    restored = ckpts.restore_latest_good(shapes)
    if restored is not None:
        step, state, meta = restored
        say(f"Restored checkpoint of epoch {epoch_of(state)} from {ckpts.directory}/{step}", flush=True)
        return state, list(meta.get("history", []))[: epoch_of(state)]
    if restore_from:
        state = restore_from_path(restore_from, shapes)
        state = state.replace(epoch=jnp.zeros_like(state.epoch), step=jnp.zeros_like(state.step))
        say(f"Initialised from {restore_from} (fine-tuning; epochs count from 0)", flush=True)
    return state, []


def _place_data(ds, mesh, shard: str, say):
    """({split: (x, y)} on the devices, batch sharding): train, test and (if any) val."""
    host = {"train": (ds.x_train, ds.y_train), "test": (ds.x_test, ds.y_test)}
    if ds.x_val is not None:
        host["val"] = (ds.x_val, ds.y_val)
    splits, batch_sharding = distributed.place_arrays(host, mesh, shard)
    if mesh is not None:
        say(f"Processes: {jax.process_count()}, devices: {len(mesh.devices)} x "
            f"{jax.devices()[0].platform}, --shard={shard}", flush=True)
    return splits, batch_sharding


def _train_epochs(run, state, history, splits, programs: Programs, ckpts, workdir, stop, say):
    """Epochs from the state's to --epochs: train, check the loss, evaluate, log, checkpoint.
    ``history`` grows in place; returns the last state (early on a stop signal, saved)."""
    cfg = run.cfg
    start = epoch_of(state)
    if start >= cfg.epochs:
        say(f"Nothing to do: {start} epochs done, --epochs={cfg.epochs}. Pass a larger "
            "--epochs to continue training.", flush=True)
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        if cfg.loop == "epoch":
            state, sums = programs.epoch(state, *splits["train"])
        else:
            state, sums = train_epoch_stepwise(state, *splits["train"], spec=run.spec, tx=run.tx,
                                               batch_size=cfg.batch_size, jit_step=programs.step)
        row = {"epoch": epoch + 1}
        metrics.add_to_row(row, metrics.split_metrics(sums, "train"))
        _stop_if_not_finite(row, epoch, ckpts)
        params = full_params(state)
        for split in ("val", "test"):
            if split in splits:
                metrics.add_to_row(row, metrics.split_metrics(programs.evaluate(params, *splits[split]), split))
        if cfg.seeds > 1:
            row["per_seed"]["seed"] = list(range(cfg.seed, cfg.seed + cfg.seeds))
        row["epoch_seconds"] = time.perf_counter() - t0
        history.append(row)
        say(metrics.epoch_line(epoch + 1, cfg.epochs, row), flush=True)
        if distributed.is_main():
            workdir_lib.append_metrics(workdir, row)
        if stop.signum is not None or epoch + 1 == cfg.epochs or (epoch + 1) % cfg.checkpoint_every == 0:
            ckpts.save(epoch + 1, state, {"history": history, "config": json.loads(cfg.to_json())}, force=True)
        if stop.signum is not None:
            break
    return state


def _stop_if_not_finite(row: dict, epoch: int, ckpts: Checkpoints) -> None:
    """A NaN or Inf training loss stops the run; the epoch is not saved, the last good one stays."""
    if np.all(np.isfinite(row.get("per_seed", row)["train_loss"])):
        return
    ckpts.wait()
    last = ckpts.steps()
    raise NgjaxError(f"non-finite training loss ({row['train_loss']}) in epoch {epoch + 1}; "
                     f"stopped without saving it (last good checkpoint: "
                     f"{last[-1] if last else 'none'}). Lower --learning_rate and resume, "
                     "or use a new --workdir")


def _summary(run: inputs_lib.RunInputs, history: list, wall: float) -> dict:
    return metrics.run_summary(model_lib.keras_param_counts(run.spec, run.keras_rows), history, {
        "vocab_size": run.keras_rows - 1,
        "train_examples": int(run.data.x_train.shape[0]),
        "test_examples": int(run.data.x_test.shape[0]),
        "glove_coverage": run.coverage,
        "platform": inputs_lib.platform(),
        "unroll": run.spec.unroll,
        "wall_seconds": wall,
    })


def _report(workdir: str, run: inputs_lib.RunInputs, state: TrainState, history: list, say) -> None:
    if jax.process_count() > 1:
        say("Report skipped in a multi-process run: run python -m ngjax.report --workdir=W on one host",
            flush=True)
        return
    from ngjax.report import write_report

    first = replica(state, 0) if run.cfg.seeds > 1 else state  # confusion and samples: replica 0
    write_report(workdir, full_params(first), run.spec, run.data, history)
    say(f"Report: {workdir}/plots/curves.png, plots/confusion.png, report.txt, samples.md", flush=True)
