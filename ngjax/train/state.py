"""The train state: one pytree holding everything a run carries from step to step, its creation,
its K-replica form (``--seeds=K``) and its placement on a device mesh.

Randomness comes from ``fold_in`` of the run's key with a stream id (never from consumed
iterators), so a resumed run draws the same numbers as an uninterrupted one.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ngjax.train import devices as distributed, optim
from ngjax.model import network as model_lib

INIT, SHUFFLE, DROPOUT = 0, 1, 2  # streams folded into the seed's key


@struct.dataclass
class TrainState:
    step: jax.Array  # int32 scalar: optimizer steps taken
    epoch: jax.Array  # int32 scalar: epochs completed
    params: Dict[str, Any]  # trainable params
    frozen: Dict[str, Any]  # params without gradient or optimizer state (a GloVe table)
    opt_state: Any
    rng: jax.Array  # the run's base key; every draw is fold_in of it


# With --seeds=K the state holds K independent replicas: every leaf gets a leading K axis except
# the frozen table, which they share. These are the vmap axes of that layout.
STATE_AXES = TrainState(step=0, epoch=0, params=0, frozen=None, opt_state=0, rng=0)


def create_state(seed, spec: model_lib.ModelSpec, tx, table: Optional[np.ndarray]) -> TrainState:
    """A fresh state from an int seed (or its PRNG key): Keras init, Adam state, counters at 0.
    ``table``: the GloVe table (frozen, or the start of a trainable one), or None for a random one."""
    rng = jax.random.PRNGKey(seed) if isinstance(seed, int) else seed
    params = model_lib.init(jax.random.fold_in(rng, INIT), spec, table)  # None: a random table
    trainable, frozen = model_lib.split_trainable(params, spec)
    return TrainState(step=jnp.zeros((), jnp.int32), epoch=jnp.zeros((), jnp.int32),
                      params=trainable, frozen=frozen, opt_state=tx.init(trainable), rng=rng)


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


def dropout_key(state: TrainState) -> jax.Array:
    """The key of this step's dropout masks: a function of (seed, step), so a resumed run draws
    the same masks as an uninterrupted one."""
    return jax.random.fold_in(jax.random.fold_in(state.rng, DROPOUT), state.step)


def full_params(state: TrainState) -> Dict[str, Any]:
    """Trainable and frozen params together, as evaluation reads them: what ``model.apply`` takes.
    With --ema_decay the trainable ones are their moving average (``optim.averaged``)."""
    return {**state.frozen, **optim.averaged(state.opt_state, state.params)}


def epoch_of(state: TrainState) -> int:
    return int(distributed.to_host(state.epoch).reshape(-1)[0])


def abstract(state: TrainState) -> Any:
    """Shapes, dtypes and shardings of ``state``: what a checkpoint is restored into."""
    return jax.tree_util.tree_map(
        lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding), state)


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
