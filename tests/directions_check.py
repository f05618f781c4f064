"""Run on two CPU devices by test_devices.py (``--cpu_devices``'s ``jax_num_cpu_devices``; not a test file).

--shard=directions against one device: logits and gradients of the model space's corners, one
bucketed epoch with dropout, and the layout of the compiled epoch. Prints one JSON line.
"""

import dataclasses
import functools
import json

from ngjax.train import devices as distributed

distributed.set_cpu_devices(2)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from ngjax.train import buckets, optim, steps  # noqa: E402
from ngjax.model import network as model
from ngjax.train import state as state_lib  # noqa: E402

assert len(jax.devices()) == 2, jax.devices()
mesh = distributed.make_mesh("directions", 1, 8, 8)
rng = np.random.default_rng(0)
tokens = rng.integers(1, 30, (6, 9)).astype(np.int32)
tokens[0, :4] = 0  # pre-padded
tokens[1, 5:] = 0  # post-padded
tokens[2, :] = 0  # empty
tokens = jnp.asarray(tokens)


def maxdiff(a, b):
    return max(float(jnp.max(jnp.abs(p - q))) for p, q in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def outputs(spec, params):
    def f(p):
        logits = model.apply(p, tokens, spec)
        return logits, jax.grad(lambda q: jnp.sum(jnp.sin(model.apply(q, tokens, spec))))(p)
    return jax.jit(f)(params)


corners = {}  # (cell, manual backward, pool, layers, pool_embeddings): max |split - one device|
# each pooled apart on its device (maxmean: max and mean, interleaved back), final states after a layer
# whose sequences are gathered (jax.grad's scan), a gathered sequence for attention beside the word vectors,
# pooled apart with the word vectors pooled beside them (--pool_embeddings)
for cell, manual, pool, layers, words in [("lstm", True, "maxmean", 1, False), ("gru", False, "last", 2, False),
                                          ("rnn", True, "attention", 1, True), ("gru", True, "maxmean", 1, True)]:
    spec = model.ModelSpec(cell, rows=30, embed_dim=5, hidden_size=4, num_classes=3, trainable_embedding=True,
                           bidirectional=True, num_layers=layers, pool=pool, pool_embeddings=words,
                           manual_backward=manual)
    params = model.init(jax.random.PRNGKey(1), spec)
    key = f"{cell} manual={manual} pool={pool} layers={layers} words={words}"
    corners[key] = maxdiff(outputs(spec, params), outputs(dataclasses.replace(spec, direction_mesh=mesh), params))

# --distinct_words on two devices (each distinct word's projection on each device; the rows' gradient
# summed), its fast path and, with a bound below the batch's words, its per-token one, against one device
spec = model.ModelSpec("lstm", rows=30, embed_dim=5, hidden_size=4, num_classes=3, trainable_embedding=True,
                       bidirectional=True, pool="max", manual_backward=True)
params = model.init(jax.random.PRNGKey(2), spec)
n = len(np.unique(np.asarray(tokens)))
for bound in (n + 3, n - 1):
    split = dataclasses.replace(spec, direction_mesh=mesh, distinct_words=((6, 9, bound),))
    corners[f"lstm distinct bound={bound} of {n}"] = maxdiff(outputs(spec, params), outputs(split, params))

# one bucketed epoch with dropout, from the same state, on one device and split
x = rng.integers(1, 30, (40, 12)).astype(np.int32)
for i in range(40):
    x[i, rng.integers(1, 13):] = 0
y = rng.integers(0, 3, 40).astype(np.int32)
spec = model.ModelSpec("lstm", rows=30, embed_dim=5, hidden_size=4, num_classes=3, trainable_embedding=True,
                       bidirectional=True, pool="max", manual_backward=True, dropout=0.5, embed_dropout=0.1)
tx = optim.build(1e-2)
plan = (*buckets.plan(x, 8, 3), False)
ends = {}
for name, s, m in [("one", spec, None), ("split", dataclasses.replace(spec, direction_mesh=mesh), mesh)]:
    state = state_lib.place(state_lib.create_state(0, s, tx, None), m, "directions", False)
    fn = jax.jit(functools.partial(steps.train_epoch, spec=s, tx=tx, batch_size=8, buckets=plan))
    if m is not None:
        hlo = fn.lower(state, jnp.asarray(x), jnp.asarray(y)).compile().as_text()
    end, sums = fn(state, jnp.asarray(x), jnp.asarray(y))
    ends[name] = (end.params, sums)
    if m is not None:  # the state comes back replicated, as placed: the next epoch reuses the program
        replicated = all(a.sharding.is_fully_replicated for a in jax.tree_util.tree_leaves((end.params, end.opt_state)))
        fn(end, jnp.asarray(x), jnp.asarray(y))
        compiled = fn._cache_size()

# a teacher reading documents by length (ngjax.run.report.by_length_proba) with its directions on the two
# devices, against the reference reading (document order, full length, one device)
from ngjax.run import report  # noqa: E402

spec = model.ModelSpec("gru", rows=30, embed_dim=5, hidden_size=4, num_classes=3, trainable_embedding=True,
                       bidirectional=True, pool="maxmean", manual_backward=True)
params = model.init(jax.random.PRNGKey(3), spec)
docs = x.copy()
docs[::2] = np.stack([np.roll(row, int((row == 0).sum())) for row in docs[::2]])  # half of them pre-padded
assert report._reading_spec(spec).direction_mesh is not None
by_length = float(np.abs(report.predict_proba(params, docs, spec, 8, by_length=True)
                         - report.predict_proba(params, docs, spec, 8)).max())

print(json.dumps({"by_length": by_length, "corners": corners, "epoch": maxdiff(ends["one"], ends["split"]), "replicated": replicated,
                  "programs": compiled, "all_reduce": "all-reduce" in hlo, "all_gather": "all-gather" in hlo,
                  "all_to_all": "all-to-all" in hlo,
                  "per_device_states": "f32[1,13,8,4]" in hlo}))
