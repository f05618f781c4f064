"""Several processes (hosts) with jax.distributed: start-up, global arrays, host copies.

One process per host; ``python -m ngjax.main --coordinator_address=HOST:PORT --num_processes=N
--process_id=I`` on each. Every process reads the (small) data set, the mesh spans all devices
of all processes, only process 0 writes files and prints, and Orbax writes checkpoints
collectively.
"""

from __future__ import annotations

import os
from typing import Any, Optional

import jax
import numpy as np

from ngjax.model.encoder import DIRECTIONS


def initialize(coordinator_address: Optional[str], num_processes: Optional[int],
               process_id: Optional[int]) -> None:
    """jax.distributed.initialize when a coordinator is given (CPU collectives through gloo)."""
    if not coordinator_address:
        return
    if jax.config.jax_platforms in (None, "", "cpu") or "cpu" in str(jax.config.jax_platforms):
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address, num_processes, process_id)


def use_compilation_cache(cache_dir: Optional[str] = None) -> Optional[str]:
    """JAX's persistent compilation cache in ``<cache_dir>/xla`` (default ``$NGJAX_CACHE/xla`` or
    ``~/.cache/ngjax/xla``), unless one is set already (``$JAX_COMPILATION_CACHE_DIR`` or the
    config): a run compiles each program once per machine, and the runs of a recipe (teachers of one
    configuration, resumed runs) load them instead of compiling again. Returns the folder in use."""
    current = jax.config.jax_compilation_cache_dir or os.environ.get("JAX_COMPILATION_CACHE_DIR")
    if current:
        return current
    from ngjax.data.dataset import default_cache_dir

    folder = os.path.join(cache_dir or default_cache_dir(), "xla")
    jax.config.update("jax_compilation_cache_dir", folder)
    return folder


def is_main() -> bool:
    return jax.process_index() == 0


def to_global(tree: Any, sharding) -> Any:
    """Host or single-process arrays -> arrays laid out by ``sharding`` over every process."""
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)

    def one(a):
        a = np.asarray(a)
        return jax.make_array_from_callback(a.shape, sharding, lambda idx: a[idx])

    return jax.tree_util.tree_map(one, tree)


def to_host(tree: Any) -> Any:
    """NumPy copies of every leaf, gathering shards that live in other processes."""
    def one(a):
        if isinstance(a, jax.Array) and not a.is_fully_addressable and not a.is_fully_replicated:
            from jax.experimental import multihost_utils

            return np.asarray(multihost_utils.process_allgather(a, tiled=True))
        return np.asarray(jax.device_get(a))

    return jax.tree_util.tree_map(one, tree)


# ----------------------------------------------------------------------------- the device mesh
def set_cpu_devices(n: int) -> None:
    """--cpu_devices: split the CPU into n JAX devices (``jax_num_cpu_devices``), before JAX starts
    its backends; 0 leaves the default (one). With --shard=directions, 2 run a bidirectional layer's
    two directions side by side on a CPU's cores."""
    from ngjax.config import ConfigError
    from ngjax.errors import NgjaxError

    if n < 0:
        raise ConfigError(f"--cpu_devices={n}: must be 0 (JAX's default) or a positive number of devices")
    if n == 0:
        return
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError as e:  # the backends already started: something ran JAX first
        if len(jax.devices("cpu")) != n:
            raise NgjaxError(f"--cpu_devices={n}: JAX already started with {len(jax.devices('cpu'))} CPU "
                             f"devices; set it before anything runs JAX ({e})") from None


def make_mesh(shard: str, seeds: int, batch_size: int, eval_batch_size: int):
    """A 1-D ``data`` mesh over all devices, or None on one device / with --shard=none.

    --shard=data splits every batch over the devices (params replicated); --shard=seeds puts
    whole replicas of a --seeds=K run on different devices; --shard=directions (exactly two
    devices, a mesh over ``encoder.DIRECTIONS``) runs each direction of a bidirectional layer on
    its own device (params and data replicated, ``ModelSpec.direction_mesh``).
    """
    from jax.sharding import Mesh

    from ngjax.errors import NgjaxError

    devices = jax.devices()
    n = len(devices)
    if shard == "directions":  # checked before the one-device case: asked for, it must happen
        if n != 2:
            raise NgjaxError(f"--shard=directions runs a bidirectional layer's two directions on two devices, "
                             f"and {n} are visible; on a CPU leave --cpu_devices out (or set it to 2), else use "
                             "--shard=data")
        return Mesh(np.array(devices), (DIRECTIONS,))
    if n == 1 or shard == "none":
        return None
    if shard == "seeds":
        if seeds % n:
            raise NgjaxError(f"--shard=seeds with --seeds={seeds} on {n} devices: the seeds must "
                             f"divide evenly; use --seeds={n * max(1, seeds // n)} or --shard=data")
    else:
        for flag, value in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size)):
            if value % n:
                ok = [v for v in (value - value % n, value - value % n + n) if v > 0]
                raise NgjaxError(f"--{flag}={value} does not divide over {n} devices; use a multiple "
                                 f"of {n} (e.g. {' or '.join(map(str, ok))})")
    return Mesh(np.array(devices), ("data",))


def place_arrays(arrays: Any, mesh, shard: str):
    """(arrays on the devices, the sharding of a training batch or None).

    The (small) data set is replicated on every device; with --shard=data each batch is then
    split along the mesh's ``data`` axis inside the compiled epoch.
    """
    if mesh is None:
        return jax.tree_util.tree_map(jax.numpy.asarray, arrays), None
    from jax.sharding import NamedSharding, PartitionSpec as P

    placed = to_global(arrays, NamedSharding(mesh, P()))
    return placed, (NamedSharding(mesh, P("data")) if shard == "data" else None)


def constrain(a: Any, sharding) -> Any:
    """``a`` (an array or a tuple of them) split as ``sharding`` says, or as it is."""
    if sharding is None:
        return a
    return jax.tree_util.tree_map(lambda v: jax.lax.with_sharding_constraint(v, sharding), a)
