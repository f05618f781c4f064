"""Run under XLA_FLAGS=--xla_force_host_platform_device_count=4 by test_devices.py (not a test file).

Prints one JSON line: max parameter differences between sharded and single-device epochs.
"""

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from ngjax.model import network as model
from ngjax.train import devices as distributed
from ngjax.train import state as state_lib
from ngjax.train import optim
from ngjax.train import steps

assert len(jax.devices()) == 4, jax.devices()
spec = model.ModelSpec("lstm", rows=30, embed_dim=6, hidden_size=5, num_classes=3)
tx = optim.build(1e-2)
table = np.random.default_rng(1).normal(size=(30, 6)).astype(np.float32)
rng = np.random.default_rng(0)
y = jnp.asarray(rng.integers(0, 3, 70).astype(np.int32))
x = jnp.asarray((1 + np.asarray(y)[:, None] * 9 + rng.integers(0, 9, (70, 8))).astype(np.int32))
mesh = Mesh(np.array(jax.devices()), ("data",))


def maxdiff(a, b):
    return max(float(jnp.abs(p - q).max()) for p, q in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


# data parallel: batches split over 4 devices vs one device
single = state_lib.create_state(0, spec, tx, table)
ref, _ = jax.jit(functools.partial(steps.train_epoch, spec=spec, tx=tx, batch_size=16))(single, x, y)
sharded_state = state_lib.place(state_lib.create_state(0, spec, tx, table), mesh, "data", False)
fn = jax.jit(functools.partial(steps.train_epoch, spec=spec, tx=tx, batch_size=16,
                               batch_sharding=NamedSharding(mesh, P("data"))))
hlo = fn.lower(sharded_state, x, y).compile().as_text()
dp, _ = fn(sharded_state, x, y)

# seeds: 4 replicas split over the devices vs on one device
many = state_lib.init_state(0, 4, spec, tx, table)
vfn = jax.jit(jax.vmap(functools.partial(steps.train_epoch, spec=spec, tx=tx, batch_size=16),
                       in_axes=(state_lib.STATE_AXES, None, None), out_axes=(state_lib.STATE_AXES, 0)))
unsplit, _ = vfn(many, x, y)
split_state = state_lib.place(state_lib.init_state(0, 4, spec, tx, table), mesh, "seeds", True)
split, _ = vfn(split_state, x, y)
devices_of_split = len(split.params["lstm"]["kernel"].sharding.device_set)

# --distinct_words with the batches split over the devices: the epoch of one device without it
import dataclasses  # noqa: E402
masked = model.ModelSpec("lstm", rows=30, embed_dim=6, hidden_size=5, num_classes=3, bidirectional=True, pool="max",
                         manual_backward=True, trainable_embedding=True)
words = dataclasses.replace(masked, distinct_words=((16, 8, 64),))  # at most 30 ids in a batch's 128 positions
ref_m, _ = jax.jit(functools.partial(steps.train_epoch, spec=masked, tx=tx, batch_size=16))(
    state_lib.create_state(0, masked, tx, None), x, y)
fn_w = jax.jit(functools.partial(steps.train_epoch, spec=words, tx=tx, batch_size=16,
                                 batch_sharding=NamedSharding(mesh, P("data"))))
dp_w, _ = fn_w(state_lib.place(state_lib.create_state(0, words, tx, None), mesh, "data", False), x, y)

bad = None
try:
    distributed.make_mesh("data", 1, 30, 1024)
except Exception as e:  # NgjaxError
    bad = str(e)
print(json.dumps({"data_parallel": maxdiff(ref.params, dp.params), "all_reduce": "all-reduce" in hlo,
                  "seeds": maxdiff(unsplit.params, split.params), "seed_devices": devices_of_split,
                  "distinct_data_parallel": maxdiff(ref_m.params, dp_w.params),
                  "bad_batch": bad}))
