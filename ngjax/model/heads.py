"""Heads: from the encoder's outputs to class logits (softmax is applied by the loss).

Pooling over time (``--pool``): ``last`` (the final state, the seed's), ``max`` and ``mean`` over
the real tokens, ``attention`` (additive attention: a learned query scores every real position,
softmax over them, weighted sum), ``maxmean`` (max and mean side by side: twice the features, as
ULMFiT's concat pooling without its last state). Padding never enters a max, a mean or an attention
weight.
Adding a head: a pooling function in ``POOLS`` and, if it has weights, its init and count here.
"""

from __future__ import annotations

from typing import Dict, Optional

import jax
import jax.numpy as jnp

from ngjax.model.initializers import glorot_uniform

POOLS = ("last", "max", "mean", "maxmean", "attention")
# pools that treat every feature on its own: pooling [B, T, F1 + F2] equals pooling each part, block by
# block (maxmean: [max | mean]), which lets the encoder pool each direction on its own device
PER_FEATURE = ("max", "mean", "maxmean")


def init_dense(key: jax.Array, features: int, classes: int) -> Dict[str, jax.Array]:
    return {"kernel": glorot_uniform(key, (features, classes)),
            "bias": jnp.zeros((classes,), jnp.float32)}


def init_attention(key: jax.Array, features: int) -> Dict[str, jax.Array]:
    k1, k2 = jax.random.split(key)
    return {"kernel": glorot_uniform(k1, (features, features)), "bias": jnp.zeros((features,), jnp.float32),
            "query": glorot_uniform(k2, (features, 1))[:, 0]}


def dense(p: Dict[str, jax.Array], h: jax.Array) -> jax.Array:
    """h: float32[batch, F] -> logits float32[batch, C] (Keras' Dense; softmax in the loss)."""
    return h @ p["kernel"] + p["bias"]


def _max(seq, mask, params):
    if mask is None:
        return jnp.max(seq, axis=1)
    best = jnp.max(jnp.where(mask[:, :, None], seq, -jnp.inf), axis=1)
    return jnp.where(jnp.any(mask, axis=1)[:, None], best, 0.0)  # an empty document pools to 0


def _mean(seq, mask, params):
    if mask is None:
        return jnp.mean(seq, axis=1)
    m = mask[:, :, None].astype(seq.dtype)
    return jnp.sum(seq * m, axis=1) / jnp.maximum(jnp.sum(m, axis=1), 1.0)


def attention_weights(p: Dict[str, jax.Array], seq: jax.Array, mask: Optional[jax.Array]) -> jax.Array:
    """float32[batch, T]: softmax over the real positions of ``query . tanh(seq @ W + b)``."""
    scores = jnp.tanh(seq @ p["kernel"] + p["bias"]) @ p["query"]  # [B, T]
    if mask is not None:
        scores = jnp.where(mask, scores, -1e30)
    w = jax.nn.softmax(scores, axis=1)
    if mask is not None:
        w = w * mask  # an empty document gets all-zero weights, not a uniform average of padding
    return w


def _attention(seq, mask, params):
    return jnp.einsum("bt,btf->bf", attention_weights(params["attention"], seq, mask), seq)


def _maxmean(seq, mask, params):
    return jnp.concatenate([_max(seq, mask, params), _mean(seq, mask, params)], axis=-1)


POOL_FNS = {"max": _max, "mean": _mean, "maxmean": _maxmean, "attention": _attention}


def pooled_features(kind: str, features: int) -> int:
    """Width of the pooled vector the dense head reads, from the encoder's width F."""
    return 2 * features if kind == "maxmean" else features


def pool(kind: str, outputs: jax.Array, mask: Optional[jax.Array], params) -> jax.Array:
    """Encoder outputs -> features float32[batch, F]: ``last`` passes the final state through."""
    return outputs if kind == "last" else POOL_FNS[kind](outputs, mask, params)


def dense_param_count(features: int, classes: int) -> int:
    return features * classes + classes


def attention_param_count(features: int) -> int:
    return features * features + 2 * features
