"""Length buckets (``--length_buckets=N``): batches of documents of similar length, each run at a
static length that drops the padding its documents do not need.

Documents are sorted by their number of real tokens once per run; the sorted list is cut into N
buckets at whole batches (the last bucket takes the remainder), and each bucket gets the length
of its longest document, rounded up to a multiple of 8. Every epoch shuffles the documents inside
each bucket, cuts them into batches, and shuffles the order of all batches, all on device from
``fold_in`` keys; one ``lax.switch`` over the buckets' compiled steps runs each batch at its
bucket's length. A masked model (padding never changes a carry or a pooled feature) computes the
same features for a document at any length that holds all its tokens, so bucketing changes only
which documents share a batch, and the work: padding is 32% of positions at seq 256.
"""

from __future__ import annotations

from typing import Callable, Tuple

import jax
import jax.numpy as jnp
import numpy as np

Plan = Tuple[Tuple[int, int, int], ...]  # (start, end, length) per bucket, in sorted order


def lengths(x: np.ndarray) -> np.ndarray:
    return (np.asarray(x) != 0).sum(axis=1)


def _rounded(n: int, seq_len: int) -> int:
    return int(min(seq_len, max(8, -(-n // 8) * 8)))


def plan(x: np.ndarray, batch_size: int, buckets: int) -> Tuple[np.ndarray, Plan]:
    """(order int32[N]: documents by length, plan) for ``buckets`` training buckets."""
    n, seq_len = x.shape
    lens = lengths(x)
    order = np.argsort(lens, kind="stable").astype(np.int32)
    full = n // batch_size
    cuts = sorted({int(round(full * k / buckets)) * batch_size for k in range(1, buckets)} - {0})
    bounds = [0] + [c for c in cuts if c < n] + [n]
    out = []
    for start, end in zip(bounds[:-1], bounds[1:]):
        if end > start:
            out.append((start, end, _rounded(int(lens[order[end - 1]]), seq_len)))
    return order, tuple(out)


def eval_plan(x: np.ndarray, chunk: int) -> Tuple[np.ndarray, Plan]:
    """(order, plan) for evaluation: chunks of ``chunk`` documents by length, each at its own length."""
    n, seq_len = x.shape
    lens = lengths(x)
    order = np.argsort(lens, kind="stable").astype(np.int32)
    return order, tuple((s, min(s + chunk, n), _rounded(int(lens[order[min(s + chunk, n) - 1]]), seq_len))
                        for s in range(0, n, chunk))


def distinct_bounds(x: np.ndarray, batch_size: int, order=None, plan_: Plan = (), samples: int = 32,
                    seed: int = 0) -> Tuple[Tuple[int, int, int], ...]:
    """((batch_size, length, bound), ...) for ``--distinct_words``: per training batch shape (each
    bucket's, or the unbucketed [batch_size, seq_len]), a bound on a batch's distinct token ids:
    1.25 x the most found in ``samples`` random batches of its documents, rounded up to 64. Shapes
    where that would not be below batch_size x length are left out (nothing to gain). A batch with
    more distinct ids than its bound is still right: the encoder then projects it per token."""
    x = np.asarray(x)
    rng = np.random.default_rng(seed)
    groups = [(order[s:e], length) for s, e, length in plan_] if plan_ else [(np.arange(len(x)), x.shape[1])]
    most = {}  # per length (buckets may share one): the most distinct ids seen
    for members, length in groups:
        if len(members) >= batch_size:
            seen = max(len(np.unique(x[rng.choice(members, batch_size, replace=False)])) for _ in range(samples))
            most[length] = max(seen, most.get(length, 0))
    bounds = ((length, -(-int(n * 1.25) // 64) * 64) for length, n in sorted(most.items()))
    return tuple((batch_size, length, b) for length, b in bounds if b < batch_size * length)


def cut(tokens: jax.Array, length: int, pre_padded: bool) -> jax.Array:
    """The last (pre-padding) or first (post-padding) ``length`` positions of tokens [B, T]."""
    return tokens[:, tokens.shape[1] - length:] if pre_padded else tokens[:, :length]


def epoch_batches(key: jax.Array, order: jax.Array, plan_: Plan, batch_size: int):
    """(batch indices int32[nb, B], bucket of each batch int32[nb], remainder int32[r]) for one
    epoch: documents shuffled within buckets, batches shuffled across them."""
    idx, ids, rest = [], [], None
    for b, (start, end, _) in enumerate(plan_):
        members = order[start:end][jax.random.permutation(jax.random.fold_in(key, b + 1), end - start)]
        nb = (end - start) // batch_size
        idx.append(members[: nb * batch_size].reshape(nb, batch_size))
        ids.append(jnp.full((nb,), b, jnp.int32))
        if b == len(plan_) - 1:
            rest = members[nb * batch_size:]
    idx, ids = jnp.concatenate(idx), jnp.concatenate(ids)
    shuffle = jax.random.permutation(jax.random.fold_in(key, 0), idx.shape[0])
    return idx[shuffle], ids[shuffle], rest


def run_batches(step_at: Callable, carry, idx: jax.Array, ids: jax.Array, plan_: Plan):
    """Scan the batches, each through ``step_at(length)(carry, batch_idx)`` of its bucket."""
    branches = [step_at(length) for _, _, length in plan_]

    def body(carry, inp):
        batch_idx, bucket = inp
        return jax.lax.switch(bucket, branches, carry, batch_idx), None

    carry, _ = jax.lax.scan(body, carry, (idx, ids))
    return carry
