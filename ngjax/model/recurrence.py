"""A masked recurrence over time with a hand-written backward pass (``--manual_backward``).

``jax.grad`` of the encoder's ``lax.scan`` transposes it step by step: inside the reversed loop it
differentiates the gate arithmetic op by op and accumulates the recurrent kernel's gradient, one
``[H, B] @ [B, G*H]`` product per time step. Here the forward scan keeps each step's gate values,
the backward scan computes only what the dependent chain needs (the gradients of the previous
state and of the gate pre-activations, with the derivatives written out), and the recurrent
kernel's and bias's gradients are one product over all steps after the loop. Same math as
autodiff; the sums run in another order, so results differ at rounding level.

Layout: direction-major. A layer's D directions ride on the leading axis (the bidirectional
encoder stacks forward and backward, the backward one's inputs already in reverse time order; one
direction is D=1), time on the next::

    U   float32[D, H, G*H]    recurrent kernels (Keras' gate order, as in ngjax.model.cells)
    bias float32[D, G*H]      the cells' bias as stored (LSTM, SimpleRNN), or float32[D, 2, G*H] (GRU:
                              row 0 the input bias, row 1 the recurrent one)
    xw  float32[D, T, B, G*H] the hoisted input projections without their bias, each direction in
                              its reading order (the bias is added inside the loop, fused with the
                              gates, instead of in a pass over xw)
    m   bool[D, T, B, 1]      True on real tokens: a step on padding leaves the carry unchanged

``scan(cell, U, bias, xw, m)`` returns the hidden state after every step, float32[D, T, B, H]; its
``[:, -1]`` is the final state. ``reverse=1`` (also an int32 scalar known only when traced: the
backward direction's device under ``--shard=directions`` passes ``lax.axis_index == 1``) makes the
loops index time from the end: the same result as the scan over time-reversed inputs, reversed
back, without reversed copies; the final state is then ``[:, 0]``.

Why direction-major: the projection ``einsum('dtbe,deg->dtbg')`` then
writes xw in the layout the loop reads, and its gradient reads d_xw in the layout the backward loop
writes; time-major [T, D, B, G*H] cost a transposing copy of xw and of d_xw per batch, and
stacking a time-reversed copy of the backward direction's projections another (a quarter of a
bucketed BiGRU epoch in a profile). The loops index time with dynamic slices and write each step's
values in place; the states are kept with the initial zero state in front, so the state before
step t is read back from them, not stored twice.
"""

from __future__ import annotations

import functools
import jax
import jax.numpy as jnp

from ngjax.model import cells


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
    """(gradients of the previous carry, of the input projection, of the recurrent product; None
    where the last equals the second, as in the LSTM and SimpleRNN)."""
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
    return (_rec(Ut, d_a), dc * f), d_a, None


def _rnn_forward(U, b, carry, xw_t):
    h = jnp.tanh(xw_t + _rec(U, carry[0]))
    return (h,), (h,)


def _rnn_backward(Ut, prev, saved, d_new):
    (h,), (dh,) = saved, d_new
    d_a = dh * (1 - h * h)
    return (_rec(Ut, d_a),), d_a, None


CELLS = {"gru": (_gru_forward, _gru_backward), "lstm": (_lstm_forward, _lstm_backward),
         "rnn": (_rnn_forward, _rnn_backward)}


def _at(a: jax.Array, t) -> jax.Array:
    """a[:, t] of a direction-major array [D, T, ...]."""
    return jax.lax.dynamic_index_in_dim(a, t, axis=1, keepdims=False)


def _put(buf: jax.Array, t, value: jax.Array) -> jax.Array:
    """buf[:, t] = value, in place."""
    return jax.lax.dynamic_update_index_in_dim(buf, value, t, axis=1)


def _biases(cell: str, bias: jax.Array):
    """(input bias [D, 1, G*H], recurrent bias [D, G*H] or None) from the stored bias."""
    if cells.CELLS[cell].bias_rows == 2:
        return bias[:, None, 0], bias[:, 1]
    return bias[:, None], None


def _run(cell: str, U, bias, xw, m, unroll: int, reverse=0):
    """The forward scan: (every carry, each float32[D, T + 1, B, H] holding the state after step t
    at t + 1 (``reverse``: at t) and the initial zero state at 0 (at T); each step's gates,
    float32[D, T, B, ...])."""
    forward = CELLS[cell][0]
    D, T, B, _ = xw.shape
    zeros = jnp.zeros((D, B, U.shape[1]), xw.dtype)
    carry = (zeros,) * cells.CELLS[cell].carry
    b_in, b = _biases(cell, bias)
    gates = jax.eval_shape(lambda c, x: forward(U, b, c, x)[1], carry, xw[:, 0])
    states = tuple(jnp.zeros((D, T + 1) + a.shape[1:], a.dtype) for a in carry)
    saved = tuple(jnp.zeros((D, T) + a.shape[1:], a.dtype) for a in gates)

    def body(i, state):
        carry, states, saved = state
        t = _step(i, T, reverse)
        new, gates = forward(U, b, carry, _at(xw, t) + b_in)
        m_t = _at(m, t)
        new = tuple(jnp.where(m_t, x, old) for x, old in zip(new, carry))
        return (new, tuple(_put(buf, t + 1 - reverse, v) for buf, v in zip(states, new)),
                tuple(_put(buf, t, v) for buf, v in zip(saved, gates)))

    _, states, saved = jax.lax.fori_loop(0, T, body, (carry, states, saved), unroll=unroll)
    return states, saved


def _step(i, T: int, reverse):
    """The time index of loop step ``i``: i, or T - 1 - i when reading in ``reverse``."""
    if isinstance(reverse, int) and not reverse:
        return i
    return i + reverse * (T - 1 - 2 * i)


def _window(states: jax.Array, start) -> jax.Array:
    """T steps of a [D, T + 1, ...] states buffer from ``start`` (0 or 1, static or traced)."""
    if isinstance(start, int):
        return states[:, start:start + states.shape[1] - 1]
    return jax.lax.dynamic_slice_in_dim(states, start, states.shape[1] - 1, axis=1)


def _after(states: jax.Array, reverse) -> jax.Array:
    """The state after each step, in time order."""
    return _window(states, 1 - reverse)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 5))
def scan(cell: str, U: jax.Array, bias: jax.Array, xw: jax.Array, m: jax.Array, unroll: int = 1,
         reverse=0):
    """States after every step, float32[D, T, B, H] (see the module docstring). ``reverse`` (0 or 1,
    or an int32 scalar known only when traced, e.g. from ``lax.axis_index``): read time from the
    last step to the first; the states still come back in time order."""
    return _after(_run(cell, U, bias, xw, m, unroll, reverse)[0][0], reverse)


def _scan_forward(cell, U, bias, xw, m, unroll, reverse=0):
    states, saved = _run(cell, U, bias, xw, m, unroll, reverse)
    return _after(states[0], reverse), (U, bias.shape, states, saved, m, reverse)


def _scan_backward(cell, unroll, res, d_ys):
    U, bias_shape, states, saved, m, reverse = res
    backward = CELLS[cell][1]
    Ut = jnp.swapaxes(U, 1, 2)
    D, T, B, H = d_ys.shape
    d_carry = (jnp.zeros((D, B, H), d_ys.dtype),) * len(states)
    shapes = jax.eval_shape(lambda *a: backward(Ut, *a)[1:], d_carry, tuple(s[:, 0] for s in saved), d_carry)
    bufs = tuple(jnp.zeros((D, T) + a.shape[1:], a.dtype) for a in shapes if a is not None)

    def body(i, state):
        d_carry, bufs = state
        t = _step(T - 1 - i, T, reverse)  # the forward loop's steps, last first
        g = (d_carry[0] + _at(d_ys, t),) + d_carry[1:]  # the state's gradient: from later steps and the output
        keep = _at(m, t).astype(d_ys.dtype)
        d_new = tuple(keep * x for x in g)  # a padding step passed the carry through unchanged
        prev = tuple(_at(s, t + reverse) for s in states)  # the carry before step t
        d_prev, *out = backward(Ut, prev, tuple(_at(s, t) for s in saved), d_new)
        return (tuple(x - k + p for x, k, p in zip(g, d_new, d_prev)),
                tuple(_put(buf, t, v) for buf, v in zip(bufs, (o for o in out if o is not None))))

    _, bufs = jax.lax.fori_loop(0, T, body, (d_carry, bufs), unroll=unroll)
    d_xw, d_rec = bufs[0], bufs[-1]  # one buffer when the recurrent product's gradient is d_xw's
    # every step's kernel gradient in one product, (t, b) merged first (two contracted axes made XLA
    # transpose both operands)
    prev = _window(states[0], reverse).reshape(D, T * B, H)  # the state before each step
    d_U = jnp.einsum("dnh,dnk->dhk", prev, d_rec.reshape(D, T * B, -1))
    d_bias = d_xw.sum(axis=(1, 2))  # the input bias
    if len(bias_shape) == 3:  # and GRU's recurrent one
        d_bias = jnp.stack([d_bias, d_rec.sum(axis=(1, 2))], axis=1)
    return d_U, d_bias, d_xw, None, None


scan.defvjp(_scan_forward, _scan_backward)


@jax.custom_vjp
def project(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """The hoisted input projection, x float32[D, N, E] @ kernel float32[D, E, G*H] -> [D, N, G*H]
    ((time, batch) merged into N). Its gradients are written out to pick the fast shape for each
    product on the CPU: the input's gradient ``d_xw @ kernel^T`` with the kernel zero-padded to a
    multiple of 16 rows (64 for 50-d word vectors), the extra columns cut off; the projection and
    the kernel's gradient unpadded. (Padding all three, as before, cost a tenth of a bidirectional
    LSTM epoch with its directions on two devices; 50 output columns made the first product 25%
    slower than 64, in a one-core probe.)"""
    return jnp.einsum("dne,deg->dng", x, kernel)


def _project_forward(x, kernel):
    return project(x, kernel), (x, kernel)


def _project_backward(res, d_xw):
    x, kernel = res
    E = x.shape[-1]
    wide = jnp.pad(kernel, ((0, 0), (0, -E % 16), (0, 0)))  # zero rows: the sums do not change
    d_x = jnp.einsum("dng,deg->dne", d_xw, wide)[..., :E]
    return d_x, jnp.einsum("dne,dng->deg", x, d_xw)


project.defvjp(_project_forward, _project_backward)
