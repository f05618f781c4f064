"""A masked recurrence over time with a hand-written backward pass (``--manual_backward``).

``jax.grad`` of the encoder's ``lax.scan`` transposes it step by step: inside the reversed loop it
differentiates the gate arithmetic op by op and accumulates the recurrent kernel's gradient, one
``[H, B] @ [B, G*H]`` product per time step. Here the forward scan keeps each step's gate values,
the backward scan computes only what the dependent chain needs (the gradients of the previous
state and of the gate pre-activations, with the derivatives written out), and the recurrent
kernel's and bias's gradients are one product over all steps after the loop. Same math as
autodiff; the sums run in another order, so results differ at rounding level.

Layout: a layer's D directions ride on a leading axis (the bidirectional encoder stacks forward
and backward; one direction is D=1)::

    U   float32[D, H, G*H]   recurrent kernels (Keras' gate order, as in ngjax.cells)
    b   float32[D, G*H]      the recurrent bias (GRU's bias row 1) or None (LSTM, SimpleRNN)
    xw  float32[T, D, B, G*H] the hoisted input projections, time-major
    m   bool[T, D, B, 1]     True on real tokens: a step on padding leaves the carry unchanged

``scan(cell, U, b, xw, m)`` returns the hidden state after every step, float32[T, D, B, H]; its
last row is the final state.
"""

from __future__ import annotations

import functools
from typing import Optional

import jax
import jax.numpy as jnp

from ngjax import cells


def _rec(U: jax.Array, h: jax.Array) -> jax.Array:
    """[D, B, H] @ [D, H, K] per direction."""
    return jnp.einsum("dbh,dhk->dbk", h, U)


def _gru_forward(U, b, carry, xw_t):
    (h,) = carry
    n = h.shape[-1]
    rec = _rec(U, h) + b[:, None, :]
    z = jax.nn.sigmoid(xw_t[..., :n] + rec[..., :n])
    r = jax.nn.sigmoid(xw_t[..., n:2 * n] + rec[..., n:2 * n])
    rh = rec[..., 2 * n:]
    hh = jnp.tanh(xw_t[..., 2 * n:] + r * rh)
    return (z * h + (1 - z) * hh,), (z, r, hh, rh)


def _gru_backward(Ut, prev, saved, d_new):
    """(gradients of the previous carry, of the input projection, of the recurrent product)."""
    (h,), (z, r, hh, rh), (dh,) = prev, saved, d_new
    d_hh = dh * (1 - z) * (1 - hh * hh)  # through tanh
    d_z = dh * (h - hh) * z * (1 - z)
    d_r = d_hh * rh * r * (1 - r)
    d_rec = jnp.concatenate([d_z, d_r, d_hh * r], axis=-1)
    return (dh * z + _rec(Ut, d_rec),), jnp.concatenate([d_z, d_r, d_hh], axis=-1), d_rec


def _lstm_forward(U, b, carry, xw_t):
    h, c = carry
    n = h.shape[-1]
    a = xw_t + _rec(U, h)
    i, f, o = (jax.nn.sigmoid(a[..., k * n:(k + 1) * n]) for k in (0, 1, 3))
    g = jnp.tanh(a[..., 2 * n:3 * n])
    c_new = f * c + i * g
    tc = jnp.tanh(c_new)
    return (o * tc, c_new), (i, f, g, o, tc)


def _lstm_backward(Ut, prev, saved, d_new):
    (_, c), (i, f, g, o, tc), (dh, dc) = prev, saved, d_new
    dc = dc + dh * o * (1 - tc * tc)
    d_a = jnp.concatenate([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
                           dh * tc * o * (1 - o)], axis=-1)
    return (_rec(Ut, d_a), dc * f), d_a, d_a


def _rnn_forward(U, b, carry, xw_t):
    h = jnp.tanh(xw_t + _rec(U, carry[0]))
    return (h,), (h,)


def _rnn_backward(Ut, prev, saved, d_new):
    (h,), (dh,) = saved, d_new
    d_a = dh * (1 - h * h)
    return (_rec(Ut, d_a),), d_a, d_a


CELLS = {"gru": (_gru_forward, _gru_backward), "lstm": (_lstm_forward, _lstm_backward),
         "rnn": (_rnn_forward, _rnn_backward)}


def _run(cell: str, U, b, xw, m, unroll: int):
    """The forward scan: (states [T, D, B, H], each step's previous carry, each step's gates)."""
    forward = CELLS[cell][0]
    zeros = jnp.zeros(xw.shape[1:3] + (U.shape[1],), xw.dtype)

    def body(carry, inp):
        xw_t, m_t = inp
        new, saved = forward(U, b, carry, xw_t)
        new = tuple(jnp.where(m_t, x, old) for x, old in zip(new, carry))
        return new, (new[0], carry, saved)

    _, out = jax.lax.scan(body, (zeros,) * cells.CELLS[cell].carry, (xw, m), unroll=unroll)
    return out


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 5))
def scan(cell: str, U: jax.Array, b: Optional[jax.Array], xw: jax.Array, m: jax.Array, unroll: int = 1):
    """States after every step, float32[T, D, B, H] (see the module docstring)."""
    return _run(cell, U, b, xw, m, unroll)[0]


def _scan_forward(cell, U, b, xw, m, unroll):
    ys, prev, saved = _run(cell, U, b, xw, m, unroll)
    return ys, (U, b, prev, saved, m)


def _scan_backward(cell, unroll, res, d_ys):
    U, b, prev, saved, m = res
    backward = CELLS[cell][1]
    Ut = jnp.swapaxes(U, 1, 2)

    def body(d_carry, inp):
        d_y, prev_t, saved_t, m_t = inp
        g = (d_carry[0] + d_y,) + d_carry[1:]  # the state's gradient: from later steps and from the output
        keep = m_t.astype(d_y.dtype)
        d_new = tuple(keep * x for x in g)  # a padding step passed the carry through unchanged
        d_prev, d_xw, d_rec = backward(Ut, prev_t, saved_t, d_new)
        return tuple(x - k + p for x, k, p in zip(g, d_new, d_prev)), (d_xw, d_rec)

    zeros = jnp.zeros_like(d_ys[0])
    _, (d_xw, d_rec) = jax.lax.scan(body, (zeros,) * cells.CELLS[cell].carry, (d_ys, prev, saved, m), reverse=True,
                                    unroll=unroll)
    d_U = jnp.einsum("tdbh,tdbk->dhk", prev[0], d_rec)  # every step's kernel gradient in one product
    d_b = None if b is None else d_rec.sum(axis=(0, 2))
    return d_U, d_b, d_xw, None


scan.defvjp(_scan_forward, _scan_backward)
