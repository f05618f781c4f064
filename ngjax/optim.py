"""Optimizers: the seed's Adam, and an opt-in lazy (row-sparse) Adam for a trainable embedding.

Dense Adam (the seed's optimizer and the default) updates every row of a trainable embedding table
at every step: rows absent from the batch have a zero gradient, but their moments decay and their
update ``m_hat / (sqrt(v_hat) + eps)`` is not zero, so the whole table (20,000 x 100 here) is read
and written each step. ``--embedding_optimizer=lazy_adam`` instead updates only the rows of the ids
in the batch (at most batch x seq_len of them), with Adam's formulas at the global step count;
every other row and its moments stay as they are. This is what TensorFlow Addons' ``LazyAdam`` and
PyTorch's ``SparseAdam`` do. It is a different optimizer, so its results differ from the seed's;
every other parameter keeps dense Adam.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Tuple

import jax
import jax.numpy as jnp
import optax
from flax import struct


def adam(learning_rate: float, b1: float = 0.9, b2: float = 0.999,
         eps: float = 1e-7) -> optax.GradientTransformation:
    """Adam with Keras' defaults (b1 0.9, b2 0.999, eps 1e-7)."""
    return optax.adam(learning_rate, b1=b1, b2=b2, eps=eps)


@struct.dataclass
class LazyAdamState:
    count: jax.Array  # int32 scalar: steps taken (bias correction uses the global count)
    mu: jax.Array  # float32[rows, E]
    nu: jax.Array  # float32[rows, E]


@dataclasses.dataclass(frozen=True)
class LazyEmbeddingAdam:
    """Dense Adam for every parameter but ``params["embedding"]["table"]``; lazy Adam for the table.

    ``init(params)`` gives ``{"dense": adam state of the rest, "embedding": LazyAdamState}``; the
    train step calls :func:`batch_rows`, differentiates with respect to the gathered rows and
    applies :meth:`update_rows`.
    """

    learning_rate: float
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-7

    @property
    def dense(self) -> optax.GradientTransformation:
        return adam(self.learning_rate, self.b1, self.b2, self.eps)

    def init(self, params: Dict[str, Any]) -> Dict[str, Any]:
        table = params["embedding"]["table"]
        return {"dense": self.dense.init(without_table(params)),
                "embedding": LazyAdamState(count=jnp.zeros((), jnp.int32), mu=jnp.zeros_like(table),
                                           nu=jnp.zeros_like(table))}

    def update_rows(self, table: jax.Array, state: LazyAdamState, ids: jax.Array, rows: jax.Array,
                    grad_rows: jax.Array) -> Tuple[jax.Array, LazyAdamState]:
        """Adam on rows ``ids`` of ``table`` only (ids >= rows are padding and are dropped).

        ``rows`` is ``table[ids]`` as the step already gathered it (zeros for padding ids)."""
        count = state.count + 1
        mu = (1 - self.b1) * grad_rows + self.b1 * state.mu.at[ids].get(mode="fill", fill_value=0)
        nu = (1 - self.b2) * grad_rows ** 2 + self.b2 * state.nu.at[ids].get(mode="fill", fill_value=0)
        c = count.astype(jnp.float32)
        mu_hat = mu / (1 - self.b1 ** c)
        nu_hat = nu / (1 - self.b2 ** c)
        step = -self.learning_rate * (mu_hat / (jnp.sqrt(nu_hat) + self.eps))
        table = table.at[ids].set(rows + step, mode="drop")
        return table, LazyAdamState(count=count, mu=state.mu.at[ids].set(mu, mode="drop"),
                                    nu=state.nu.at[ids].set(nu, mode="drop"))


def without_table(params: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in params.items() if k != "embedding"}


def batch_rows(tokens: jax.Array, rows: int) -> Tuple[jax.Array, jax.Array]:
    """(ids, local) for a batch of token ids: int32[B, T].

    ``ids``: int32[B * T + 1], the distinct ids of the batch ascending, then ``rows`` (out of range:
    gathers read zeros, scatters drop it) as padding to a fixed size. ``local``: tokens re-indexed
    into ``ids``, so ``table[tokens] == table[ids][local]``. ``ids[0]`` is always the padding id 0
    slot, so ``local == 0`` exactly where ``tokens == 0`` (``--mask_padding`` keeps working); when
    the batch has no 0 that slot holds ``rows`` and row 0 is left alone.
    """
    flat = jnp.concatenate([jnp.zeros((1,), tokens.dtype), tokens.reshape(-1)])
    ids, inverse = jnp.unique(flat, size=flat.shape[0], fill_value=rows, return_inverse=True)
    local = inverse.reshape(-1)[1:].reshape(tokens.shape)
    ids = ids.at[0].set(jnp.where(jnp.any(tokens == 0), 0, rows))
    return ids, local


def make(learning_rate: float, embedding_optimizer: str = "adam"):
    """The run's optimizer: optax Adam, or :class:`LazyEmbeddingAdam` for ``lazy_adam``."""
    if embedding_optimizer == "lazy_adam":
        return LazyEmbeddingAdam(learning_rate)
    return adam(learning_rate)
