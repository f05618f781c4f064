"""Recurrent cells: one pure step function each, with its Keras parameter layout and count.

A cell step is ``step(p, carry, xw_t) -> (carry, h_t)`` where ``p`` is the cell's params and
``xw_t`` the input projection ``x_t @ kernel + input bias`` computed for all time steps before the
scan (the encoder hoists it). Params per cell, Keras names and layouts::

    LSTM, SimpleRNN: {"kernel": [E, G*H], "recurrent_kernel": [H, G*H], "bias": [G*H]}
    GRU:             {"kernel": [E, 3H], "recurrent_kernel": [H, 3H], "bias": [2, 3H]}

with gate order i, f, c, o (LSTM) and z, r, h (GRU, Keras' ``reset_after=True``: row 0 of the
bias is added to the input projection, row 1 to the recurrent one, and the reset gate multiplies
the recurrent candidate after its bias).

Adding a cell: its step function and a :class:`Cell` entry in ``CELLS`` (gates, carry size,
forget-gate bias, bias rows, Keras name); ``--cell``'s choices in its Config field.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, Tuple

import jax
import jax.numpy as jnp

from ngjax.model.initializers import glorot_uniform, orthogonal


def lstm_step(p: Dict[str, jax.Array], carry: Tuple[jax.Array, jax.Array], xw_t: jax.Array):
    """One LSTM step. carry: (h, c) float32[batch, H]; xw_t: float32[batch, 4H]. Returns ((h, c), h)."""
    h, c = carry
    z = xw_t + h @ p["recurrent_kernel"]
    i, f, g, o = jnp.split(z, 4, axis=-1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return (h, c), h


def gru_step(p: Dict[str, jax.Array], carry: Tuple[jax.Array], xw_t: jax.Array):
    """One GRU step, Keras' reset_after form. carry: (h,) float32[batch, H]; xw_t: float32[batch, 3H]
    (input projection with the input bias, row 0)."""
    (h,) = carry
    rec = h @ p["recurrent_kernel"] + p["bias"][1]
    x_z, x_r, x_h = jnp.split(xw_t, 3, axis=-1)
    r_z, r_r, r_h = jnp.split(rec, 3, axis=-1)
    z = jax.nn.sigmoid(x_z + r_z)
    r = jax.nn.sigmoid(x_r + r_r)
    hh = jnp.tanh(x_h + r * r_h)
    h = z * h + (1 - z) * hh
    return (h,), h


def rnn_step(p: Dict[str, jax.Array], carry: Tuple[jax.Array], xw_t: jax.Array):
    """One SimpleRNN (tanh) step. carry: (h,) float32[batch, H]; xw_t: float32[batch, H]."""
    (h,) = carry
    h = jnp.tanh(xw_t + h @ p["recurrent_kernel"])
    return (h,), h


@dataclasses.dataclass(frozen=True)
class Cell:
    step: Callable
    gates: int  # G: the kernels hold G blocks of H columns
    carry: int  # arrays in the carry (h, or h and c)
    forget_bias: bool  # Keras' unit_forget_bias: 1 in the f block of the bias
    bias_rows: int  # 1: one bias [G*H]; 2: input and recurrent biases [2, G*H] (GRU reset_after)
    keras_name: str


CELLS: Dict[str, Cell] = {
    "lstm": Cell(lstm_step, gates=4, carry=2, forget_bias=True, bias_rows=1, keras_name="LSTM"),
    "gru": Cell(gru_step, gates=3, carry=1, forget_bias=False, bias_rows=2, keras_name="GRU"),
    "rnn": Cell(rnn_step, gates=1, carry=1, forget_bias=False, bias_rows=1, keras_name="SimpleRNN"),
}


def init(k_kernel: jax.Array, k_rec: jax.Array, cell: str, input_dim: int, hidden: int) -> Dict[str, jax.Array]:
    """Keras' initialisers: glorot-uniform kernel, orthogonal recurrent kernel (drawn for the whole
    [H, G*H] matrix at once, as Keras does), zero bias with the forget-gate block at 1."""
    spec = CELLS[cell]
    width = spec.gates * hidden
    bias = jnp.zeros((width,) if spec.bias_rows == 1 else (spec.bias_rows, width), jnp.float32)
    if spec.forget_bias:
        bias = bias.at[hidden:2 * hidden].set(1.0)
    return {"kernel": glorot_uniform(k_kernel, (input_dim, width)),
            "recurrent_kernel": orthogonal(k_rec, (hidden, width)),
            "bias": bias}


def input_bias(cell: str, p: Dict[str, jax.Array]) -> jax.Array:
    """The bias added to the hoisted input projection: [G*H]."""
    return p["bias"] if CELLS[cell].bias_rows == 1 else p["bias"][0]


def initial_carry(cell: str, batch: int, hidden: int, dtype=jnp.float32):
    zeros = jnp.zeros((batch, hidden), dtype)
    return (zeros,) * CELLS[cell].carry


def step_raw(cell: str, p: Dict[str, jax.Array], carry, x_t: jax.Array):
    """``cell(params, carry, x_t) -> (carry, h_t)`` on a raw input x_t: float32[batch, E]."""
    return CELLS[cell].step(p, carry, x_t @ p["kernel"] + input_bias(cell, p))


def param_count(cell: str, input_dim: int, units: int) -> int:
    """Parameters as Keras counts them: G * (H * (E + H) + rows * H)."""
    spec = CELLS[cell]
    return spec.gates * (units * (input_dim + units) + spec.bias_rows * units)
