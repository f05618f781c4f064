"""Keras' initialisers as pure functions of (key, shape)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


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


def embedding_uniform(key, shape, dtype=jnp.float32):
    """Keras' Embedding default: uniform(-0.05, 0.05)."""
    return jax.random.uniform(key, shape, dtype, -0.05, 0.05)
