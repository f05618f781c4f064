"""The classifier as pure functions: embedding lookup -> recurrent cell scanned over time -> dense.

Params are a plain dict with Keras names and layouts (gate order i, f, c, o)::

    {"embedding": {"table": [rows, E]},
     "lstm" | "rnn": {"kernel": [E, G*H], "recurrent_kernel": [H, G*H], "bias": [G*H]},
     "dense": {"kernel": [H, C], "bias": [C]}}

with G = 4 for the LSTM and 1 for the SimpleRNN. The table holds the rows the tokenizer can
emit (ids < num_words); Keras' table has one row per training word, and the rows past
num_words are never looked up, so the outputs are the same. ``keras_param_counts`` gives the
Keras-equivalent counts.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np

Params = Dict[str, Dict[str, jax.Array]]
GATES = {"lstm": 4, "rnn": 1}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Static shape and behaviour of a model (hashable: safe as a jit static argument)."""

    cell: str = "lstm"
    rows: int = 20000  # embedding rows actually stored (ids < rows)
    embed_dim: int = 50
    hidden_size: int = 30
    num_classes: int = 20
    trainable_embedding: bool = False
    mask_padding: bool = False
    unroll: int = 1


# ----------------------------------------------------------------------------- initialisers
def glorot_uniform(key, shape, dtype=jnp.float32):
    fan_in, fan_out = shape
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return jax.random.uniform(key, shape, dtype, -limit, limit)


def orthogonal(key, shape, dtype=jnp.float32):
    """Keras' Orthogonal(gain=1) for a 2-D shape: QR of a normal matrix, sign-corrected."""
    rows, cols = shape
    flat = jax.random.normal(key, (max(rows, cols), min(rows, cols)), dtype)
    q, r = jnp.linalg.qr(flat)
    q = q * jnp.sign(jnp.diag(r))
    return q.T if rows < cols else q


def init(rng: jax.Array, spec: ModelSpec, table: Optional[np.ndarray] = None) -> Params:
    """Keras initialisers. ``table`` (float32 [rows, E]) is the GloVe table, if any."""
    k_emb, k_kernel, k_rec, k_dense = jax.random.split(rng, 4)
    g, e, h = GATES[spec.cell], spec.embed_dim, spec.hidden_size
    if table is None:  # Keras Embedding default: uniform(-0.05, 0.05)
        table = jax.random.uniform(k_emb, (spec.rows, e), jnp.float32, -0.05, 0.05)
    table = jnp.asarray(table, jnp.float32)
    if table.shape != (spec.rows, e):
        raise ValueError(f"embedding table shape {table.shape} != {(spec.rows, e)}")
    bias = jnp.zeros((g * h,), jnp.float32)
    if spec.cell == "lstm":  # unit_forget_bias
        bias = bias.at[h:2 * h].set(1.0)
    # Keras' orthogonal recurrent init is drawn for the whole [H, G*H] kernel at once.
    return {
        "embedding": {"table": table},
        spec.cell: {"kernel": glorot_uniform(k_kernel, (e, g * h)),
                    "recurrent_kernel": orthogonal(k_rec, (h, g * h)),
                    "bias": bias},
        "dense": {"kernel": glorot_uniform(k_dense, (h, spec.num_classes)),
                  "bias": jnp.zeros((spec.num_classes,), jnp.float32)},
    }


# ----------------------------------------------------------------------------- cells
def lstm_cell(recurrent_kernel: jax.Array, carry: Tuple[jax.Array, jax.Array], xw_t: jax.Array):
    """One LSTM step given the precomputed input projection.

    carry: (h, c) float32[batch, H]; xw_t: float32[batch, 4H] = x_t @ kernel + bias.
    Returns ((h, c), h).
    """
    h, c = carry
    z = xw_t + h @ recurrent_kernel
    i, f, g, o = jnp.split(z, 4, axis=-1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return (h, c), h


def rnn_cell(recurrent_kernel: jax.Array, carry: Tuple[jax.Array], xw_t: jax.Array):
    """One SimpleRNN (tanh) step. carry: (h,) float32[batch, H]; xw_t: float32[batch, H]."""
    (h,) = carry
    h = jnp.tanh(xw_t + h @ recurrent_kernel)
    return (h,), h


CELLS = {"lstm": lstm_cell, "rnn": rnn_cell}


def cell_step(cell: str, p: Dict[str, jax.Array], carry, x_t: jax.Array):
    """``cell(params, carry, x_t) -> (carry, h_t)`` on a raw input x_t: float32[batch, E]."""
    return CELLS[cell](p["recurrent_kernel"], carry, x_t @ p["kernel"] + p["bias"])


def initial_carry(cell: str, batch: int, hidden: int):
    zeros = jnp.zeros((batch, hidden), jnp.float32)
    return (zeros, zeros) if cell == "lstm" else (zeros,)


def encode(params: Params, tokens: jax.Array, spec: ModelSpec) -> jax.Array:
    """tokens: int32[batch, seq_len] -> last hidden state float32[batch, H].

    The input projection for all steps is one matmul outside the scan; only ``h @ U`` stays in
    the sequential loop. With ``mask_padding`` a step on token 0 leaves the carry unchanged.
    """
    p = params[spec.cell]
    x = jnp.take(params["embedding"]["table"], tokens, axis=0)  # [B, T, E]
    xw = jnp.einsum("bte,eg->tbg", x, p["kernel"]) + p["bias"]  # time-major [T, B, G*H]
    step = CELLS[spec.cell]
    carry = initial_carry(spec.cell, tokens.shape[0], spec.hidden_size)
    if spec.mask_padding:
        mask = (tokens != 0).T[:, :, None]  # [T, B, 1]

        def body(carry, inp):
            xw_t, m_t = inp
            new, _ = step(p["recurrent_kernel"], carry, xw_t)
            carry = tuple(jnp.where(m_t, n, o) for n, o in zip(new, carry))
            return carry, None

        carry, _ = jax.lax.scan(body, carry, (xw, mask), unroll=spec.unroll)
    else:
        def body(carry, xw_t):
            carry, _ = step(p["recurrent_kernel"], carry, xw_t)
            return carry, None

        carry, _ = jax.lax.scan(body, carry, xw, unroll=spec.unroll)
    return carry[0]


def apply(params: Params, tokens: jax.Array, spec: ModelSpec) -> jax.Array:
    """tokens: int32[batch, seq_len] -> logits float32[batch, num_classes] (softmax head)."""
    h = encode(params, tokens, spec)
    return h @ params["dense"]["kernel"] + params["dense"]["bias"]


# ----------------------------------------------------------------------------- bookkeeping
def split_trainable(params: Params, spec: ModelSpec) -> Tuple[Params, Params]:
    """(trainable, frozen): a frozen embedding gets no gradient and no optimizer state."""
    if spec.trainable_embedding:
        return dict(params), {}
    trainable = {k: v for k, v in params.items() if k != "embedding"}
    return trainable, {"embedding": params["embedding"]}


def recurrent_param_count(cell: str, input_dim: int, units: int) -> int:
    return GATES[cell] * (units * (input_dim + units) + units)


def keras_param_counts(spec: ModelSpec, keras_rows: int) -> Dict[str, int]:
    """Parameter counts as Keras reports them (embedding with ``keras_rows`` = vocab + 1 rows)."""
    emb = keras_rows * spec.embed_dim
    rec = recurrent_param_count(spec.cell, spec.embed_dim, spec.hidden_size)
    dense = spec.hidden_size * spec.num_classes + spec.num_classes
    total = emb + rec + dense
    return {"embedding": emb, "recurrent": rec, "dense": dense, "total": total,
            "trainable": total if spec.trainable_embedding else rec + dense,
            "embedding_rows_stored": spec.rows}


def summary_table(spec: ModelSpec, seq_len: int, keras_rows: int) -> str:
    """A Keras-like model summary."""
    counts = keras_param_counts(spec, keras_rows)
    name = "LSTM" if spec.cell == "lstm" else "SimpleRNN"
    rows = [("embedding (Embedding)", f"(None, {seq_len}, {spec.embed_dim})", counts["embedding"],
             "yes" if spec.trainable_embedding else "no (frozen)"),
            (f"{spec.cell} ({name})", f"(None, {spec.hidden_size})", counts["recurrent"], "yes"),
            ("dense (Dense, softmax)", f"(None, {spec.num_classes})", counts["dense"], "yes")]
    line = "_" * 78
    out = [line, f"{'Layer (type)':<28}{'Output Shape':<20}{'Param #':>12}  {'Trainable':<14}", "=" * 78]
    for layer, shape, n, tr in rows:
        out.append(f"{layer:<28}{shape:<20}{n:>12,}  {tr:<14}")
    out += ["=" * 78, f"Total params: {counts['total']:,}",
            f"Trainable params: {counts['trainable']:,}",
            f"Non-trainable params: {counts['total'] - counts['trainable']:,}", line]
    return "\n".join(out)
