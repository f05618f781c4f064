"""Training: a TrainState pytree, a pure jit-compiled Adam step, whole epochs as one program.

``train_step(state, batch) -> (state, metrics)`` is pure; callers jit it (with the state
donated). ``train_epoch`` runs one epoch as a single compiled program: the epoch's permutation
is drawn on device from ``fold_in(fold_in(key(seed), SHUFFLE), epoch)``, the full batches run
in a ``lax.scan`` and the last partial batch (Keras' smaller final batch: 11,314 = 353 * 32 +
18 gives 354 steps) runs as one more step. ``--loop=step`` runs the same steps one jit call at
a time, for debugging. Metrics are sums plus a count, normalised once per epoch on the host.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import signal
import time
from typing import Any, Dict, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging
from flax import struct

from ngjax import distributed
from ngjax import model as model_lib
from ngjax import optim
from ngjax import serving
from ngjax.checkpoint import Checkpoints
from ngjax.config import Config, complete_saved, differing_keys, validate, RANDOM_EMBED_DIM
from ngjax.errors import InterruptedRun, NgjaxError

INIT, SHUFFLE = 0, 1  # streams folded into the seed's key


@struct.dataclass
class TrainState:
    step: jax.Array  # int32 scalar: optimizer steps taken
    epoch: jax.Array  # int32 scalar: epochs completed
    params: Dict[str, Any]  # trainable params
    frozen: Dict[str, Any]  # params without gradient or optimizer state (a GloVe table)
    opt_state: Any
    rng: jax.Array  # the run's base key; every draw is fold_in of it


def make_optimizer(learning_rate: float, embedding_optimizer: str = "adam", rule: str = "keras"):
    """Adam with Keras' defaults and update rule (or optax's, ``rule="optax"``); ``lazy_adam``
    updates only a trainable table's batch rows."""
    return optim.make(learning_rate, embedding_optimizer, rule)


def create_state(seed, spec: model_lib.ModelSpec, tx, table: Optional[np.ndarray]) -> TrainState:
    """A fresh state from an int seed (or its PRNG key): Keras init, Adam state, counters at 0."""
    rng = jax.random.PRNGKey(seed) if isinstance(seed, int) else seed
    params = model_lib.init(jax.random.fold_in(rng, INIT), spec,
                            None if spec.trainable_embedding else table)
    trainable, frozen = model_lib.split_trainable(params, spec)
    return TrainState(step=jnp.zeros((), jnp.int32), epoch=jnp.zeros((), jnp.int32),
                      params=trainable, frozen=frozen, opt_state=tx.init(trainable), rng=rng)


# With --seeds=K the state holds K independent replicas: every leaf gets a leading K axis except
# the frozen table, which they share. These are the vmap axes of that layout.
STATE_AXES = TrainState(step=0, epoch=0, params=0, frozen=None, opt_state=0, rng=0)


def init_state(seed: int, seeds: int, spec: model_lib.ModelSpec, tx, table) -> TrainState:
    """One state (seeds == 1) or ``seeds`` replicas with seeds seed, seed+1, ... stacked."""
    if seeds == 1:
        return create_state(seed, spec, tx, table)
    keys = jnp.stack([jax.random.PRNGKey(seed + k) for k in range(seeds)])
    return jax.vmap(lambda key: create_state(key, spec, tx, table), out_axes=STATE_AXES)(keys)


def replica(state: TrainState, k: int) -> TrainState:
    """Replica k of a stacked state (a plain single state)."""
    pick = lambda a: a[k]  # noqa: E731
    return state.replace(step=state.step[k], epoch=state.epoch[k], rng=state.rng[k],
                         params=jax.tree_util.tree_map(pick, state.params),
                         opt_state=jax.tree_util.tree_map(pick, state.opt_state))


def epoch_of(state: TrainState) -> int:
    return int(distributed.to_host(state.epoch).reshape(-1)[0])


def _sums(logits: jax.Array, labels: jax.Array, weight: Optional[jax.Array] = None):
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    correct = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
    if weight is None:
        weight = jnp.ones_like(losses)
    return {"loss_sum": jnp.sum(losses * weight), "correct": jnp.sum(correct * weight),
            "count": jnp.sum(weight)}, losses


def train_step(state: TrainState, batch: Tuple[jax.Array, jax.Array], *,
               spec: model_lib.ModelSpec, tx) -> Tuple[TrainState, Dict[str, jax.Array]]:
    """One Adam step on batch = (tokens int32[B, T], labels int32[B]); mean loss over B."""
    tokens, labels = batch
    if isinstance(tx, optim.LazyEmbeddingAdam):
        return _lazy_train_step(state, tokens, labels, spec=spec, tx=tx)

    def loss_fn(trainable):
        logits = model_lib.apply({**state.frozen, **trainable}, tokens, spec)
        sums, losses = _sums(logits, labels)
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
        sums, losses = _sums(logits, labels)
        return jnp.mean(losses), sums

    rows = table.at[ids].get(mode="fill", fill_value=0)
    (g_rest, g_rows), sums = jax.grad(loss_fn, argnums=(0, 1), has_aux=True)(rest, rows)
    updates, dense_state = tx.dense.update(g_rest, state.opt_state["dense"], rest)
    table, emb_state = tx.update_rows(table, state.opt_state["embedding"], ids, rows, g_rows)
    params = {**optax.apply_updates(rest, updates), "embedding": {"table": table}}
    return state.replace(step=state.step + 1, params=params,
                         opt_state={"dense": dense_state, "embedding": emb_state}), sums


def epoch_permutation(rng: jax.Array, epoch: jax.Array, n: int) -> jax.Array:
    return jax.random.permutation(jax.random.fold_in(jax.random.fold_in(rng, SHUFFLE), epoch), n)


def epoch_batches(n: int, batch_size: int) -> Tuple[int, int]:
    """(full batches, size of the last partial batch or 0)."""
    return n // batch_size, n % batch_size


def _add(a, b):
    return jax.tree_util.tree_map(jnp.add, a, b)


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
    zero = {"loss_sum": jnp.zeros(()), "correct": jnp.zeros(()), "count": jnp.zeros(())}

    def body(carry, idx):
        params, opt_state, step, acc = carry
        st = state.replace(params=params, opt_state=opt_state, step=step, frozen=frozen)
        batch = (_constrain(x[idx], sharding), _constrain(y[idx], sharding))
        st, sums = train_step(st, batch, spec=spec, tx=tx)
        return (st.params, st.opt_state, st.step, _add(acc, sums)), None

    carry = (state.params, state.opt_state, state.step, zero)
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
        acc = sums if acc is None else _add(acc, sums)
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
        return _sums(model_lib.apply(params, xc, spec), yc, wc)[0]

    per = jax.lax.map(chunk, (xp, yp, wp))
    return jax.tree_util.tree_map(jnp.sum, per)


def finalize(sums: Dict[str, Any], prefix: str) -> Dict[str, Any]:
    """Sums -> {prefix_loss, prefix_accuracy}. With K replicas (sums of shape [K]) the values are
    means over replicas, with ``*_std`` beside them and the per-replica values under ``per_seed``."""
    s = distributed.to_host(sums)
    loss = np.asarray(s["loss_sum"], np.float64) / np.asarray(s["count"], np.float64)
    acc = np.asarray(s["correct"], np.float64) / np.asarray(s["count"], np.float64)
    if loss.ndim == 0:
        return {f"{prefix}_loss": float(loss), f"{prefix}_accuracy": float(acc)}
    return {f"{prefix}_loss": float(loss.mean()), f"{prefix}_accuracy": float(acc.mean()),
            f"{prefix}_loss_std": float(loss.std()), f"{prefix}_accuracy_std": float(acc.std()),
            "per_seed": {f"{prefix}_loss": loss.tolist(), f"{prefix}_accuracy": acc.tolist()}}


def _merge(row: dict, part: dict) -> None:
    per = part.pop("per_seed", None)
    row.update(part)
    if per:
        row.setdefault("per_seed", {}).update(per)


def default_unroll(platform: str, seq_len: int) -> int:
    """Time-scan unroll: on CPU unrolling costs more than it saves; on accelerators it pays."""
    if platform == "cpu":
        return 1
    return seq_len if seq_len <= 32 else 10


# ----------------------------------------------------------------------------- devices
def make_mesh(cfg: Config):
    """A 1-D ``data`` mesh over all devices, or None on one device / with --shard=none.

    --shard=data splits every batch over the devices (params replicated); --shard=seeds puts
    whole replicas of a --seeds=K run on different devices.
    """
    from jax.sharding import Mesh

    devices = jax.devices()
    n = len(devices)
    if n == 1 or cfg.shard == "none":
        return None
    if cfg.shard == "seeds":
        if cfg.seeds % n:
            raise NgjaxError(f"--shard=seeds with --seeds={cfg.seeds} on {n} devices: the seeds must "
                             f"divide evenly; use --seeds={n * max(1, cfg.seeds // n)} or --shard=data")
    else:
        for flag, value in (("batch_size", cfg.batch_size), ("eval_batch_size", cfg.eval_batch_size)):
            if value % n:
                ok = [v for v in (value - value % n, value - value % n + n) if v > 0]
                raise NgjaxError(f"--{flag}={value} does not divide over {n} devices; use a multiple "
                                 f"of {n} (e.g. {' or '.join(map(str, ok))})")
    return Mesh(np.array(devices), ("data",))


def place(state: TrainState, mesh, shard: str, many: bool) -> TrainState:
    """Put the state on the mesh: replicated, or (--shard=seeds) replicas split over devices."""
    from jax.sharding import NamedSharding, PartitionSpec as P

    if mesh is None:
        return state
    rep = NamedSharding(mesh, P())
    if shard == "seeds" and many:
        split = NamedSharding(mesh, P("data"))
        out = {f: distributed.to_global(getattr(state, f), split)
               for f in ("step", "epoch", "params", "opt_state", "rng")}
        return state.replace(frozen=distributed.to_global(state.frozen, rep), **out)
    return distributed.to_global(state, rep)


# ----------------------------------------------------------------------------- the run
def resolve(cfg: Config) -> Config:
    """Fill in what follows from the inputs (embed_dim from the GloVe file), check consistency."""
    from ngjax import embeddings

    validate(cfg)
    if cfg.embeddings == "glove":
        dim = embeddings.glove_dim(cfg.glove_path)
        if cfg.embed_dim is not None and cfg.embed_dim != dim and cfg.glove_path is None:
            raise NgjaxError(
                f"--embed_dim={cfg.embed_dim} needs a {cfg.embed_dim}-d GloVe file (the bundled vectors "
                f"are {dim}-d): download glove.6B.zip from https://nlp.stanford.edu/projects/glove/ "
                f"and pass --glove_path=PATH/glove.6B.zip:glove.6B.{cfg.embed_dim}d.txt")
        if cfg.embed_dim is not None and cfg.embed_dim != dim:
            src = cfg.glove_path or "the bundled GloVe 6B 50d vectors"
            raise NgjaxError(f"--embed_dim={cfg.embed_dim} disagrees with {src}, which has {dim} "
                             f"dimensions; pass --embed_dim={dim} or a {cfg.embed_dim}-d --glove_path")
        cfg = cfg.replace(embed_dim=dim)
    elif cfg.embed_dim is None:
        cfg = cfg.replace(embed_dim=RANDOM_EMBED_DIM)
    return cfg


def _has_results(workdir: str) -> bool:
    ck = os.path.join(workdir, "checkpoints")
    metrics = os.path.join(workdir, "metrics.jsonl")
    return (os.path.isdir(ck) and any(n.isdigit() for n in os.listdir(ck))) or (
        os.path.exists(metrics) and os.path.getsize(metrics) > 0)


def check_workdir(cfg: Config, workdir: str) -> None:
    """Refuse a workdir whose results come from a different model or data."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path) or not _has_results(workdir):
        return  # nothing to lose: a run that stopped before its first epoch is simply replaced
    try:
        with open(path) as f:
            saved = json.load(f)
    except (OSError, ValueError) as e:
        raise NgjaxError(f"{path} is unreadable ({e}); fix it or use a new --workdir") from None
    diff = differing_keys(saved, cfg)
    if diff:
        now, saved = json.loads(cfg.to_json()), complete_saved(saved)
        shown = "; ".join(f"{k}: saved {saved.get(k)!r}, requested {now.get(k)!r}" for k in diff[:6])
        raise NgjaxError(f"--workdir={workdir} holds a run with a different config ({shown}); "
                         "use a new --workdir, or repeat that run's flags to resume it")


def write_config(cfg: Config, workdir: str) -> None:
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "config.json")
    with open(path + ".tmp", "w") as f:
        f.write(cfg.to_json())
    os.replace(path + ".tmp", path)


class _SignalFlag:
    """SIGTERM/SIGINT set a flag; the loop saves at the end of the epoch in flight and stops."""

    def __init__(self):
        self.signum = None
        self._old = {}

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGTERM, signal.SIGINT):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        self.signum = signum
        print(f"\n{signal.Signals(signum).name} received: finishing this epoch, then saving a "
              "checkpoint (Ctrl-C again to abort now)", flush=True)

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)
        return False


def _platform() -> str:
    return jax.devices()[0].platform


@dataclasses.dataclass
class Prepared:
    """Everything a run needs besides the state: data on device, spec, optimizer, table."""

    cfg: Config
    spec: model_lib.ModelSpec
    tx: Any
    data: Any  # ngjax.data.Dataset
    table: Optional[np.ndarray]
    coverage: Optional[dict]
    keras_rows: int


def spec_for(cfg: Config, rows: int, num_classes: int, unroll: int = 1) -> model_lib.ModelSpec:
    """The static model description of a (resolved) config."""
    return model_lib.ModelSpec(cell=cfg.cell, rows=rows, embed_dim=cfg.embed_dim,
                               hidden_size=cfg.hidden_size, num_classes=num_classes,
                               trainable_embedding=cfg.embeddings == "random",
                               mask_padding=cfg.mask_padding, unroll=unroll)


def prepare(cfg: Config, cache_dir: Optional[str] = None) -> Prepared:
    from ngjax import data as data_lib
    from ngjax import embeddings

    cache_dir = cache_dir or data_lib.default_cache_dir()
    ds = data_lib.load_dataset(cfg, cache_dir)
    keras_rows = ds.tokenizer.vocab_size + 1
    rows = min(keras_rows, cfg.num_words)
    unroll = cfg.unroll or default_unroll(_platform(), cfg.seq_len)
    spec = spec_for(cfg, rows, ds.num_classes, unroll)
    table, coverage = None, None
    if cfg.embeddings == "glove":
        table, coverage = embeddings.embedding_table(cfg.glove_path, ds.tokenizer.words, rows, cache_dir)
        logging.info("GloVe covers %d of %d table words (%.1f%%)", coverage["found"],
                     coverage["words"], 100 * coverage["fraction"])
    return Prepared(cfg, spec, make_optimizer(cfg.learning_rate, cfg.embedding_optimizer, cfg.adam), ds, table, coverage, keras_rows)


def _epoch_line(epoch: int, epochs: int, m: dict) -> str:
    parts = [f"Epoch {epoch}/{epochs}", f"{m['epoch_seconds']:.2f}s",
             f"loss: {m['train_loss']:.4f}", f"accuracy: {m['train_accuracy']:.4f}"]
    if "val_loss" in m:
        parts += [f"val_loss: {m['val_loss']:.4f}", f"val_accuracy: {m['val_accuracy']:.4f}"]
    parts += [f"test_loss: {m['test_loss']:.4f}", f"test_accuracy: {m['test_accuracy']:.4f}"]
    if "test_accuracy_std" in m:
        parts[-1] += f" ± {m['test_accuracy_std']:.4f} ({len(m['per_seed']['seed'])} seeds, mean ± std)"
    return " - ".join(parts)


def _write_jsonl(path: str, rows) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    os.replace(tmp, path)


def train_and_evaluate(cfg: Config, workdir: str, cache_dir: Optional[str] = None,
                       restore_from: Optional[str] = None, report: bool = True) -> dict:
    """Train ``cfg`` in ``workdir`` (resuming what is there) and return the summary dict."""
    t_start = time.perf_counter()
    cfg = resolve(cfg)
    check_workdir(cfg, workdir)
    mesh = make_mesh(cfg)
    prep = prepare(cfg, cache_dir)  # data and vectors first: a bad input leaves no workdir behind
    main = distributed.is_main()  # only process 0 writes files and prints
    say = print if main else (lambda *a, **k: None)
    if main:
        write_config(cfg, workdir)
        serving.save_vocabulary(workdir, prep.data.tokenizer, prep.data.target_names)
    spec, tx, ds = prep.spec, prep.tx, prep.data
    say(model_lib.summary_table(spec, cfg.seq_len, prep.keras_rows), flush=True)

    many = cfg.seeds > 1
    state = place(init_state(cfg.seed, cfg.seeds, spec, tx, prep.table), mesh, cfg.shard, many)
    abstract = jax.tree_util.tree_map(
        lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding), state)
    ckpts = Checkpoints(os.path.join(workdir, "checkpoints"), cfg.keep_checkpoints)
    history: list = []
    restored = ckpts.restore_latest_good(abstract)
    if restored is not None:
        step, state, meta = restored
        history = list(meta.get("history", []))[: epoch_of(state)]
        say(f"Restored checkpoint of epoch {epoch_of(state)} from {ckpts.directory}/{step}", flush=True)
    elif restore_from:
        state = restore_external(restore_from, abstract)
        state = state.replace(epoch=jnp.zeros_like(state.epoch), step=jnp.zeros_like(state.step))
        say(f"Initialised from {restore_from} (fine-tuning; epochs count from 0)", flush=True)
    metrics_path = os.path.join(workdir, "metrics.jsonl")
    if main:
        _write_jsonl(metrics_path, history)  # drops rows a killed run wrote past its last checkpoint

    x_train, y_train = jnp.asarray(ds.x_train), jnp.asarray(ds.y_train)
    x_test, y_test = jnp.asarray(ds.x_test), jnp.asarray(ds.y_test)
    has_val = ds.x_val is not None
    if has_val:
        x_val, y_val = jnp.asarray(ds.x_val), jnp.asarray(ds.y_val)
    batch_sharding = None
    if mesh is not None:
        from jax.sharding import NamedSharding, PartitionSpec as P

        rep = NamedSharding(mesh, P())
        x_train, y_train, x_test, y_test = distributed.to_global(
            (ds.x_train, ds.y_train, ds.x_test, ds.y_test), rep)
        if has_val:
            x_val, y_val = distributed.to_global((ds.x_val, ds.y_val), rep)
        if cfg.shard == "data":
            batch_sharding = NamedSharding(mesh, P("data"))
        say(f"Processes: {jax.process_count()}, devices: {len(mesh.devices)} x {jax.devices()[0].platform}, --shard={cfg.shard}", flush=True)
    epoch_fn = functools.partial(train_epoch, spec=spec, tx=tx, batch_size=cfg.batch_size,
                                 batch_sharding=batch_sharding)
    eval_fn = functools.partial(evaluate, spec=spec, batch_size=cfg.eval_batch_size,
                                batch_sharding=batch_sharding)
    if many:  # K replicas in one program: vmap over the state, data and frozen table shared
        epoch_fn = jax.vmap(epoch_fn, in_axes=(STATE_AXES, None, None), out_axes=(STATE_AXES, 0))
        param_axes = {**{k: None for k in state.frozen}, **{k: 0 for k in state.params}}
        eval_fn = jax.vmap(eval_fn, in_axes=(param_axes, None, None))
    run_epoch = jax.jit(epoch_fn, donate_argnums=0)
    jit_step = jax.jit(functools.partial(train_step, spec=spec, tx=tx), donate_argnums=0)
    run_eval = jax.jit(eval_fn)

    start_epoch = epoch_of(state)
    if start_epoch >= cfg.epochs:
        say(f"Nothing to do: {start_epoch} epochs done, --epochs={cfg.epochs}. Pass a larger "
              "--epochs to continue training.", flush=True)
    interrupted = None
    with _SignalFlag() as flag:
        for epoch in range(start_epoch, cfg.epochs):
            t0 = time.perf_counter()
            if cfg.loop == "epoch":
                state, sums = run_epoch(state, x_train, y_train)
            else:
                state, sums = train_epoch_stepwise(state, x_train, y_train, spec=spec, tx=tx,
                                                   batch_size=cfg.batch_size, jit_step=jit_step)
            row = {"epoch": epoch + 1}
            _merge(row, finalize(sums, "train"))
            if not np.all(np.isfinite(row.get("per_seed", row)["train_loss"])):
                ckpts.wait()
                last = ckpts.steps()
                raise NgjaxError(f"non-finite training loss ({row['train_loss']}) in epoch {epoch + 1}; "
                                 f"stopped without saving it (last good checkpoint: "
                                 f"{last[-1] if last else 'none'}). Lower --learning_rate and resume, "
                                 "or use a new --workdir")
            params = {**state.frozen, **state.params}
            if has_val:
                _merge(row, finalize(run_eval(params, x_val, y_val), "val"))
            _merge(row, finalize(run_eval(params, x_test, y_test), "test"))
            if many:
                row["per_seed"]["seed"] = list(range(cfg.seed, cfg.seed + cfg.seeds))
            row["epoch_seconds"] = time.perf_counter() - t0
            history.append(row)
            say(_epoch_line(epoch + 1, cfg.epochs, row), flush=True)
            if main:
                with open(metrics_path, "a") as f:
                    f.write(json.dumps(row) + "\n")
            last_epoch = epoch + 1 == cfg.epochs
            if flag.signum is not None or last_epoch or (epoch + 1) % cfg.checkpoint_every == 0:
                ckpts.save(epoch + 1, state, {"history": history, "config": json.loads(cfg.to_json())},
                           force=True)
            if flag.signum is not None:
                interrupted = flag.signum
                break
    ckpts.close()
    if interrupted is not None:
        raise InterruptedRun(f"interrupted by {signal.Signals(interrupted).name} after epoch "
                             f"{epoch_of(state)}; checkpoint saved. Run the same command to resume")
    summary = write_summary(workdir, prep, history, time.perf_counter() - t_start, write=main)
    if report and history and jax.process_count() > 1:
        say("Report skipped in a multi-process run: run python -m ngjax.report --workdir=W on one host",
            flush=True)
    elif report and history:
        from ngjax.report import write_report

        first = replica(state, 0) if many else state  # confusion and samples: replica 0
        write_report(workdir, {**first.frozen, **first.params}, spec, ds, history)
        say(f"Report: {workdir}/plots/curves.png, plots/confusion.png, report.txt, samples.md", flush=True)
    return summary


def restore_external(path: str, abstract: TrainState) -> TrainState:
    """State from another run's checkpoint: PATH is a workdir, its checkpoints/ or checkpoints/N."""
    path = os.path.abspath(path)
    step = None
    if os.path.basename(path).isdigit():
        step, path = int(os.path.basename(path)), os.path.dirname(path)
    if os.path.isdir(os.path.join(path, "checkpoints")):
        path = os.path.join(path, "checkpoints")
    if not os.path.isdir(path):
        raise NgjaxError(f"--restore_from={path}: no such checkpoint folder; pass a workdir, its "
                         "checkpoints/ folder, or checkpoints/<epoch>")
    ck = Checkpoints(path, read_only=True)
    try:
        if step is None:
            got = ck.restore_latest_good(abstract)
            if got is None:
                raise NgjaxError(f"--restore_from={path}: holds no checkpoint")
            return got[1]
        if step not in ck.steps():
            raise NgjaxError(f"--restore_from: step {step} not in {path} (steps: {ck.steps()})")
        return ck.restore(step, abstract)[0]
    except NgjaxError:
        raise
    except Exception as e:
        raise NgjaxError(f"--restore_from={path}: cannot restore it into this model ({str(e)[:200]}); "
                         "the model config must match that run's") from None


def write_summary(workdir: str, prep: Prepared, history: list, wall: float, write: bool = True) -> dict:
    spec = prep.spec
    summary = {
        "params": model_lib.keras_param_counts(spec, prep.keras_rows),
        "epochs": len(history),
        "final": history[-1] if history else None,
        "best_test_accuracy": max((r["test_accuracy"] for r in history), default=None),
        "vocab_size": prep.keras_rows - 1,
        "train_examples": int(prep.data.x_train.shape[0]),
        "test_examples": int(prep.data.x_test.shape[0]),
        "glove_coverage": prep.coverage,
        "platform": _platform(),
        "unroll": spec.unroll,
        "wall_seconds": wall,
    }
    per = (history[-1] if history else {}).get("per_seed")
    if per:
        summary["seeds"] = {"seeds": per["seed"], **{
            key: {"mean": float(np.mean(per[key])), "std": float(np.std(per[key])),
                  "min": float(np.min(per[key])), "max": float(np.max(per[key]))}
            for key in ("test_accuracy", "test_loss", "train_accuracy", "train_loss")}}
    if write:
        with open(os.path.join(workdir, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
    return summary
