"""Recurrent cells: one pure step function each, with its Keras parameter layout and count.

A cell step is ``step(recurrent_kernel, carry, xw_t) -> (carry, h_t)`` where ``xw_t`` is the
input projection ``x_t @ kernel + bias`` computed for all time steps before the scan (the encoder
hoists it). Params per cell, Keras names and layouts (gate order i, f, c, o for the LSTM)::

    {"kernel": [E, G*H], "recurrent_kernel": [H, G*H], "bias": [G*H]}

Adding a cell: its step function, a :class:`Cell` entry in ``CELLS`` (gates, carry size, forget-gate
bias, Keras name).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, Tuple

import jax
import jax.numpy as jnp

from ngjax.initializers import glorot_uniform, orthogonal


def lstm_step(recurrent_kernel: jax.Array, carry: Tuple[jax.Array, jax.Array], xw_t: jax.Array):
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


def rnn_step(recurrent_kernel: jax.Array, carry: Tuple[jax.Array], xw_t: jax.Array):
    """One SimpleRNN (tanh) step. carry: (h,) float32[batch, H]; xw_t: float32[batch, H]."""
    (h,) = carry
    h = jnp.tanh(xw_t + h @ recurrent_kernel)
    return (h,), h


@dataclasses.dataclass(frozen=True)
class Cell:
    step: Callable
    gates: int  # G: the kernels hold G blocks of H columns
    carry: int  # arrays in the carry (h, or h and c)
    forget_bias: bool  # Keras' unit_forget_bias: 1 in the f block of the bias
    keras_name: str


CELLS: Dict[str, Cell] = {
    "lstm": Cell(lstm_step, gates=4, carry=2, forget_bias=True, keras_name="LSTM"),
    "rnn": Cell(rnn_step, gates=1, carry=1, forget_bias=False, keras_name="SimpleRNN"),
}


def init(k_kernel: jax.Array, k_rec: jax.Array, cell: str, input_dim: int, hidden: int) -> Dict[str, jax.Array]:
    """Keras' initialisers: glorot-uniform kernel, orthogonal recurrent kernel (drawn for the whole
    [H, G*H] matrix at once, as Keras does), zero bias with the forget-gate block at 1."""
    spec = CELLS[cell]
    bias = jnp.zeros((spec.gates * hidden,), jnp.float32)
    if spec.forget_bias:
        bias = bias.at[hidden:2 * hidden].set(1.0)
    return {"kernel": glorot_uniform(k_kernel, (input_dim, spec.gates * hidden)),
            "recurrent_kernel": orthogonal(k_rec, (hidden, spec.gates * hidden)),
            "bias": bias}


def initial_carry(cell: str, batch: int, hidden: int):
    zeros = jnp.zeros((batch, hidden), jnp.float32)
    return (zeros,) * CELLS[cell].carry


def step_raw(cell: str, p: Dict[str, jax.Array], carry, x_t: jax.Array):
    """``cell(params, carry, x_t) -> (carry, h_t)`` on a raw input x_t: float32[batch, E]."""
    return CELLS[cell].step(p["recurrent_kernel"], carry, x_t @ p["kernel"] + p["bias"])


def param_count(cell: str, input_dim: int, units: int) -> int:
    """Parameters as Keras counts them: G * (H * (E + H) + H)."""
    return CELLS[cell].gates * (units * (input_dim + units) + units)
