"""Optimizers: Keras' Adam (the seed's, the default), optax's Adam, and a lazy Adam for a table.

**Keras' Adam** (``--adam=keras``, the default). Keras 2 and 3, like TensorFlow, apply

    alpha_t = lr * sqrt(1 - b2^t) / (1 - b1^t)
    m += (g - m) * (1 - b1);  v += (g^2 - v) * (1 - b2)
    p -= m * alpha_t / (sqrt(v) + eps)

which is optax's ``m_hat / (sqrt(v_hat) + eps)`` with the epsilon scaled by ``1 / sqrt(1 - b2^t)``
("epsilon hat", Kingma & Ba section 2): about 32x larger at step 1 than optax's, shrinking towards
``eps`` as t grows. With Keras' ``eps = 1e-7`` parameters with small gradients move noticeably
less in Keras than in optax during the first few hundred steps. :func:`keras_adam` transcribes
Keras 3's ``Adam.update_step`` operation by operation (float32), so the same weights and batches
give the same trajectory (tested against Keras itself to ~1e-6 after many steps).

**optax's Adam** (``--adam=optax``): ``optax.adam`` with Keras' constants (b1 0.9, b2 0.999,
eps 1e-7): PyTorch's and optax's convention. ngjax used it before the Keras rule existed; a
workdir saved without the ``adam`` key was trained with it and resumes only with it.

**Lazy Adam** (``--embedding_optimizer=lazy_adam``). Dense Adam updates every row of a trainable
embedding table at every step: rows absent from the batch have a zero gradient, but their
moments decay and their update is not zero. Lazy Adam updates only the rows of the ids in the
batch, with the same rule (Keras' or optax's) at the global step count; every other row and its
moments stay as they are, as TensorFlow Addons' ``LazyAdam`` and PyTorch's ``SparseAdam`` do. It
is a different optimizer, so its results differ from the seed's; every other parameter keeps
dense Adam.

**Weight averaging** (``--ema_decay=d``). :func:`with_param_ema` wraps the optimizer and keeps, in
its state, an exponential moving average of the parameters after every step (Polyak averaging as
in Adam's paper, section 7.2): ``a_t = d * a_{t-1} + (1 - d) * p_t`` from ``a_0 = 0``, read
bias-corrected as ``a_t / (1 - d^t)`` (so the initial weights carry no weight). Training follows
the raw parameters; evaluation, the best-validation checkpoint's numbers, prediction and the
report use the average (:func:`averaged`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, NamedTuple, Tuple, Union

import jax
import jax.numpy as jnp
import optax
from flax import struct

ADAM_RULES = ("keras", "optax")
B1, B2, EPS = 0.9, 0.999, 1e-7  # Keras' defaults

LearningRate = Union[float, Callable[[jax.Array], jax.Array]]


class KerasAdamState(NamedTuple):
    count: jax.Array  # int32 scalar: steps taken
    mu: Any  # first moments, like the params
    nu: Any  # second moments, like the params


def _lr(learning_rate: LearningRate, count: jax.Array) -> jax.Array:
    """The learning rate at step ``count`` (steps taken before this one), float32."""
    lr = learning_rate(count) if callable(learning_rate) else learning_rate
    return jnp.asarray(lr, jnp.float32)


def keras_step_size(learning_rate: LearningRate, count: jax.Array, b1: float, b2: float) -> jax.Array:
    """Keras' ``alpha_t = lr * sqrt(1 - b2^t) / (1 - b1^t)`` for ``t = count + 1`` (float32)."""
    t = (count + 1).astype(jnp.float32)
    b1_power = jnp.power(jnp.float32(b1), t)
    b2_power = jnp.power(jnp.float32(b2), t)
    return _lr(learning_rate, count) * jnp.sqrt(1 - b2_power) / (1 - b1_power)


def keras_moments(g: jax.Array, m: jax.Array, v: jax.Array, b1: float, b2: float):
    """Keras' in-place moment updates ``m += (g - m)(1 - b1)``, ``v += (g^2 - v)(1 - b2)``."""
    return m + (g - m) * (1 - b1), v + (jnp.square(g) - v) * (1 - b2)


def keras_delta(m: jax.Array, v: jax.Array, alpha: jax.Array, eps: float) -> jax.Array:
    """The change Keras subtracts from the parameter: ``m * alpha / (sqrt(v) + eps)``."""
    return (m * alpha) / (jnp.sqrt(v) + eps)


def keras_adam(learning_rate: LearningRate, b1: float = B1, b2: float = B2, eps: float = EPS,
               weight_decay: float = 0.0) -> optax.GradientTransformation:
    """Keras' Adam as an optax transformation (updates are added to the params). With
    ``weight_decay`` it is Keras' AdamW: ``p -= p * weight_decay * lr`` before the Adam step."""

    def init(params):
        zeros = lambda p: jnp.zeros_like(p)  # noqa: E731
        return KerasAdamState(count=jnp.zeros((), jnp.int32),
                              mu=jax.tree_util.tree_map(zeros, params),
                              nu=jax.tree_util.tree_map(zeros, params))

    def update(grads, state, params=None):
        alpha = keras_step_size(learning_rate, state.count, b1, b2)
        both = jax.tree_util.tree_map(lambda g, m, v: keras_moments(g, m, v, b1, b2),
                                      grads, state.mu, state.nu)
        treedef = jax.tree_util.tree_structure(grads)
        pairs = treedef.flatten_up_to(both)
        mu = treedef.unflatten([p[0] for p in pairs])
        nu = treedef.unflatten([p[1] for p in pairs])
        updates = jax.tree_util.tree_map(lambda m, v: -keras_delta(m, v, alpha, eps), mu, nu)
        if weight_decay:
            lr = _lr(learning_rate, state.count)
            updates = jax.tree_util.tree_map(lambda u, p: u - p * weight_decay * lr, updates, params)
        return updates, KerasAdamState(count=state.count + 1, mu=mu, nu=nu)

    return optax.GradientTransformation(init, update)


def adam(learning_rate: LearningRate, rule: str = "keras", b1: float = B1, b2: float = B2,
         eps: float = EPS, weight_decay: float = 0.0) -> optax.GradientTransformation:
    """Adam (AdamW with ``weight_decay``) with Keras' constants and Keras' update rule
    (``rule="keras"``) or optax's."""
    if rule == "keras":
        return keras_adam(learning_rate, b1, b2, eps, weight_decay)
    if rule == "optax":
        if weight_decay:
            return optax.adamw(learning_rate, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay)
        return optax.adam(learning_rate, b1=b1, b2=b2, eps=eps)
    raise ValueError(f"unknown Adam rule {rule!r}; allowed: {', '.join(ADAM_RULES)}")


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
    applies :meth:`update_rows`. ``rule`` is Keras' or optax's Adam, for both parts.
    """

    learning_rate: LearningRate
    rule: str = "keras"
    b1: float = B1
    b2: float = B2
    eps: float = EPS

    @property
    def dense(self) -> optax.GradientTransformation:
        return adam(self.learning_rate, self.rule, self.b1, self.b2, self.eps)

    def init(self, params: Dict[str, Any]) -> Dict[str, Any]:
        table = params["embedding"]["table"]
        return {"dense": self.dense.init(without_table(params)),
                "embedding": LazyAdamState(count=jnp.zeros((), jnp.int32), mu=jnp.zeros_like(table),
                                           nu=jnp.zeros_like(table))}

    def update_rows(self, table: jax.Array, state: LazyAdamState, ids: jax.Array, rows: jax.Array,
                    grad_rows: jax.Array) -> Tuple[jax.Array, LazyAdamState]:
        """Adam on rows ``ids`` of ``table`` only (ids >= rows are padding and are dropped).

        ``rows`` is ``table[ids]`` as the step already gathered it (zeros for padding ids)."""
        mu_rows = state.mu.at[ids].get(mode="fill", fill_value=0)
        nu_rows = state.nu.at[ids].get(mode="fill", fill_value=0)
        if self.rule == "keras":
            alpha = keras_step_size(self.learning_rate, state.count, self.b1, self.b2)
            mu, nu = keras_moments(grad_rows, mu_rows, nu_rows, self.b1, self.b2)
            new_rows = rows - keras_delta(mu, nu, alpha, self.eps)
        else:
            c = (state.count + 1).astype(jnp.float32)
            mu = (1 - self.b1) * grad_rows + self.b1 * mu_rows
            nu = (1 - self.b2) * grad_rows ** 2 + self.b2 * nu_rows
            mu_hat = mu / (1 - self.b1 ** c)
            nu_hat = nu / (1 - self.b2 ** c)
            new_rows = rows + -_lr(self.learning_rate, state.count) * (mu_hat / (jnp.sqrt(nu_hat) + self.eps))
        table = table.at[ids].set(new_rows, mode="drop")
        return table, LazyAdamState(count=state.count + 1, mu=state.mu.at[ids].set(mu, mode="drop"),
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


class ParamEmaState(NamedTuple):
    """The state of :func:`with_param_ema`: the wrapped optimizer's, and the running average."""
    inner: Any
    count: jax.Array  # int32 scalar: steps averaged
    decay: jax.Array  # float32 scalar: d (kept so the state alone reads back the average)
    average: Any  # sum of (1 - d) d^(t-s) p_s over the steps s <= t, like the params


def with_param_ema(tx: optax.GradientTransformation, decay: float) -> optax.GradientTransformation:
    """``tx`` whose state also keeps the exponential moving average of the parameters after each
    update (from zero, read bias-corrected by :func:`averaged`). The updates are ``tx``'s."""

    def init(params):
        return ParamEmaState(inner=tx.init(params), count=jnp.zeros((), jnp.int32),
                             decay=jnp.asarray(decay, jnp.float32),
                             average=jax.tree_util.tree_map(jnp.zeros_like, params))

    def update(grads, state, params=None):
        updates, inner = tx.update(grads, state.inner, params)
        new = optax.apply_updates(params, updates)
        d = state.decay
        average = jax.tree_util.tree_map(lambda a, p: d * a + (1 - d) * p, state.average, new)
        return updates, ParamEmaState(inner=inner, count=state.count + 1, decay=d, average=average)

    return optax.GradientTransformation(init, update)


def averaged(opt_state: Any, params: Dict[str, Any]) -> Dict[str, Any]:
    """The parameters to evaluate: the bias-corrected moving average ``a_t / (1 - d^t)`` when
    ``opt_state`` is a :class:`ParamEmaState` that has seen a step, else ``params`` as they are. Works
    on K stacked replicas too (count and decay then carry the leading K axis)."""
    if not isinstance(opt_state, ParamEmaState):
        return params
    count, decay = opt_state.count, opt_state.decay

    def read(a, p):
        shape = count.shape + (1,) * (a.ndim - count.ndim)  # a [K] count against [K, ...] leaves
        c, d = count.reshape(shape), decay.reshape(shape)
        return jnp.where(c > 0, a / (1 - jnp.power(d, c.astype(jnp.float32))), p)

    return jax.tree_util.tree_map(read, opt_state.average, params)


def build(learning_rate: LearningRate, embedding_optimizer: str = "adam", rule: str = "keras",
          clip_norm: float = 0.0, weight_decay: float = 0.0, ema_decay: float = 0.0):
    """The run's optimizer: Adam (``rule``; AdamW with ``weight_decay``; gradients clipped to
    ``clip_norm`` first; the parameters' moving average kept with ``ema_decay``), or
    :class:`LazyEmbeddingAdam` for ``lazy_adam``. With the defaults the state is exactly the plain
    Adam state (old checkpoints restore into it)."""
    if embedding_optimizer == "lazy_adam":
        if ema_decay:
            raise ValueError("a parameter average (ema_decay) needs dense Adam")
        return LazyEmbeddingAdam(learning_rate, rule)
    tx = adam(learning_rate, rule, weight_decay=weight_decay)
    tx = optax.chain(optax.clip_by_global_norm(clip_norm), tx) if clip_norm else tx
    return with_param_ema(tx, ema_decay) if ema_decay else tx
