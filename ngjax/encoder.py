"""The sequence encoder: embedding lookup, input projection, a cell scanned over time.

Directions and layers are the encoder's business, not the cells'. The input projection
``x @ kernel + bias`` for all time steps is one matmul before the scan; only ``h @ U`` and the
gates stay in the sequential loop. With ``mask_padding`` a step on token 0 leaves the carry
unchanged (whatever the padding side).
"""

from __future__ import annotations

from typing import Dict

import jax
import jax.numpy as jnp

from ngjax import cells


def embed(params: Dict[str, Dict[str, jax.Array]], tokens: jax.Array) -> jax.Array:
    """tokens: int32[batch, T] -> float32[batch, T, E]."""
    return jnp.take(params["embedding"]["table"], tokens, axis=0)


def encode(params, tokens: jax.Array, spec) -> jax.Array:
    """tokens: int32[batch, seq_len] -> last hidden state float32[batch, H]."""
    p = params[spec.cell]
    x = embed(params, tokens)  # [B, T, E]
    xw = jnp.einsum("bte,eg->tbg", x, p["kernel"]) + p["bias"]  # time-major [T, B, G*H]
    step = cells.CELLS[spec.cell].step
    carry = cells.initial_carry(spec.cell, tokens.shape[0], spec.hidden_size)
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
