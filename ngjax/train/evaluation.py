"""Evaluation: summed loss / correct / count over a split, in one compiled pass.

Fixed chunks of ``--eval_batch_size`` documents in document order (``lax.map``; the reference); or,
with length buckets or a fast recurrence (``sorted_evaluation``), chunks of documents sorted by
length, each cut to its own length (a masked model's features do not depend on the padding) and
with a fast recurrence run in ``lax.map`` steps of a training batch (a working set that fits the
caches: a 1024-document chunk of a 256-token BiGRU held 400 MB of input projections). K replicas
(``--seeds``) evaluate from one forward pass per chunk, with their ensemble.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

import jax
import jax.numpy as jnp

from ngjax.config import Config
from ngjax.model import network as model_lib
from ngjax.train import buckets as buckets_lib
from ngjax.train import metrics
from ngjax.train.devices import constrain


def _over_chunks(fn: Callable, x: jax.Array, y: jax.Array, batch_size: int, batch_sharding, buckets):
    """Sum ``fn(tokens, labels, weights)`` over x: int32[N, T] in chunks of batch_size (one program),
    or, with ``buckets`` = (order, plan, pre_padded[, steps]), over length-sorted chunks at their own
    lengths, each whole or, given ``steps``, in ``lax.map`` steps of that many documents."""
    if buckets is not None:
        order, plan, pre, *per_step = buckets
        total = None
        for start, end, length in plan:
            ids = jnp.asarray(order[start:end])
            tokens = buckets_lib.cut(x[ids], length, pre)
            if per_step:
                sums = _mapped(fn, tokens, y[ids], per_step[0])
            else:
                sums = fn(tokens, y[ids], jnp.ones((end - start,), jnp.float32))
            total = sums if total is None else metrics.add(total, sums)
        return total
    return _mapped(fn, x, y, batch_size, batch_sharding)


def _mapped(fn: Callable, x: jax.Array, y: jax.Array, batch_size: int, batch_sharding=None):
    """Sum ``fn`` over x in ``lax.map`` steps of batch_size documents (the last padded, weight 0)."""
    n = x.shape[0]
    chunks = -(-n // batch_size)
    pad = chunks * batch_size - n
    xp = jnp.pad(x, ((0, pad), (0, 0))).reshape(chunks, batch_size, -1)
    yp = jnp.pad(y, (0, pad)).reshape(chunks, batch_size)
    wp = (jnp.arange(chunks * batch_size) < n).astype(jnp.float32).reshape(chunks, batch_size)
    per = jax.lax.map(lambda args: fn(*(constrain(a, batch_sharding) for a in args)), (xp, yp, wp))
    return jax.tree_util.tree_map(lambda a: jnp.sum(a, axis=0), per)  # over chunks (not replicas)


def evaluate(params: Dict[str, Any], x: jax.Array, y: jax.Array, *, spec, batch_size: int,
             batch_sharding=None, buckets=None) -> Dict[str, jax.Array]:
    """Summed loss/correct/count over x: int32[N, T], y: int32[N] (dropout off)."""
    return _over_chunks(lambda xc, yc, wc: metrics.batch_sums(model_lib.apply(params, xc, spec), yc, wc)[0],
                        x, y, batch_size, batch_sharding, buckets)


def evaluate_ensemble(params: Dict[str, Any], x: jax.Array, y: jax.Array, *, spec, batch_size: int,
                      param_axes, batch_sharding=None, buckets=None) -> Dict[str, Any]:
    """K replicas (params with replica axes ``param_axes``) from one forward pass per chunk:
    ``{"replicas": sums of shape [K], "ensemble": sums for the average of their probabilities}``."""
    def fn(xc, yc, wc):
        logits = jax.vmap(lambda p: model_lib.apply(p, xc, spec), in_axes=(param_axes,))(params)
        replicas = jax.vmap(lambda lg: metrics.batch_sums(lg, yc, wc)[0])(logits)
        probs = jax.nn.softmax(logits, axis=-1)
        return {"replicas": replicas, "ensemble": metrics.probability_sums(jnp.mean(probs, axis=0), yc, wc)}

    return _over_chunks(fn, x, y, batch_size, batch_sharding, buckets)


def eval_chunk(cfg: Config) -> int:
    """Documents per evaluation chunk: --eval_batch_size for one replica; K replicas share it, so
    a --seeds=K run evaluates in the memory of one (K=5 of a 400-token BiGRU at 1024 documents
    each asked for 27 GB). A multiple of the devices when batches are split over them."""
    return _whole_splits(max(1, cfg.eval_batch_size // cfg.seeds), cfg)


def eval_step(cfg: Config) -> int:
    """Documents per step of a sorted evaluation: a training batch (a multiple of the devices when
    batches are split over them), at most a chunk."""
    return min(eval_chunk(cfg), _whole_splits(cfg.batch_size, cfg))


def _whole_splits(documents: int, cfg: Config) -> int:
    """``documents`` rounded down to a multiple of the devices a batch is split over (at least one each)."""
    n = jax.device_count() if cfg.shard == "data" else 1
    return max(n, documents - documents % n)


def sorted_evaluation(cfg: Config) -> bool:
    """Whether evaluation runs length-sorted chunks, each at its own length (less padding computed;
    a masked model's features do not depend on the padding): with the fast recurrences. The
    reference (``--recurrence=autodiff``) keeps fixed chunks in document order, as the committed
    numbers were evaluated, so they reproduce bit for bit. (Config refuses the fast recurrences on an
    unmasked model.)"""
    return cfg.recurrence in ("manual", "distinct")
