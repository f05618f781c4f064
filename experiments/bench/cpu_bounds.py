"""Where the seed config's epoch time goes on this machine, and how far it is from its bounds.

Command (what produced experiments/bench/results/cpu_bounds.md):
    python -m experiments.bench.cpu_bounds

Times, per epoch of the seed config's shapes (354 steps of batch 32, seq 30, GloVe 50d frozen,
LSTM(30); synthetic token ids, which cost the same as real ones), ngjax's own epoch program and
variants of it with a part taken out, plus the dependent chain of the recurrence's matrix products
alone. FLOP counts are those of the computation (multiply-adds x 2), so the table shows what rate
each part reaches. Every row is one compiled program per epoch, warm, the best of ``--repeats``.
"""

from __future__ import annotations

import functools
import os
import sys
import time

import numpy as np
from absl import flags, logging
from ngjax import cli
from ngjax import files
from ngjax.train import state as state_lib
from ngjax.train import optim
from ngjax.model import cells
from ngjax.train import steps

flags.DEFINE_integer("repeats", 3, "Warm epochs timed per row (the best is kept).")
flags.DEFINE_string("out", "experiments/bench/results/cpu_bounds", "Output path without extension.")
FLAGS = flags.FLAGS

N, B, T, E, H, C = 11314, 32, 30, 50, 30, 20
G = 4 * H
STEPS = -(-N // B)


def flops() -> dict:
    """FLOPs per epoch of each part of a train step (2 per multiply-add)."""
    proj = 2 * B * T * E * G  # x @ kernel for all steps
    rec = 2 * T * B * H * G  # h @ recurrent_kernel over the sequence
    return {"projection fwd+grad": STEPS * 2 * proj, "recurrence fwd": STEPS * rec,
            "recurrence bwd (dh, dU)": STEPS * 2 * rec}


def _best(fn, *args, repeats):
    import jax

    out = fn(*args)
    jax.block_until_ready(out)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn(*args)
        jax.block_until_ready(out)
        times.append(time.perf_counter() - t)
    return min(times)


def measure(repeats: int) -> list:
    import jax
    import jax.numpy as jnp
    import optax

    from ngjax.model import network as model

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.integers(1, 20000, (N, T)).astype(np.int32))
    y = jnp.asarray(rng.integers(0, C, N).astype(np.int32))
    table = rng.normal(size=(20000, E)).astype(np.float32)
    spec = model.ModelSpec("lstm", rows=20000, embed_dim=E, hidden_size=H, num_classes=C)
    tx = optim.build(1e-3)
    state = state_lib.create_state(0, spec, tx, table)
    rows = []

    full = jax.jit(functools.partial(steps.train_epoch, spec=spec, tx=tx, batch_size=B))
    rows.append(("ngjax epoch program (train_epoch)", _best(full, state, x, y, repeats=repeats),
                 sum(flops().values())))

    perm = jnp.arange(STEPS * B) % N

    def epoch_of(loss, grad=True):
        def run(params, x, y):
            def body(carry, idx):
                p, o = carry
                if not grad:
                    return carry, loss(p, x[idx], y[idx])
                l, g = jax.value_and_grad(loss)(p, x[idx], y[idx])
                u, o = tx.update(g, o, p)
                return (optax.apply_updates(p, u), o), l
            return jax.lax.scan(body, (params, tx.init(params)), perm.reshape(STEPS, B))[1].mean()
        return jax.jit(run)

    frozen, params = state.frozen, state.params
    xw_const = jnp.asarray(rng.normal(size=(T, B, G)).astype(np.float32))

    def loss(p, xb, yb, part="all"):
        emb = frozen["embedding"]["table"][xb]
        if part == "no_recurrence":
            xw = jnp.einsum("bte,eg->tbg", emb, p["lstm"]["kernel"]) + p["lstm"]["bias"]
            h = jnp.tanh(xw[..., :H]).mean(0)  # every step's projection used, no sequential loop
        else:
            xw = xw_const if part == "no_projection" else jnp.einsum("bte,eg->tbg", emb, p["lstm"]["kernel"])
            xw = xw + p["lstm"]["bias"]
            carry = (jnp.zeros((B, H)), jnp.zeros((B, H)))
            carry, _ = jax.lax.scan(lambda c, xt: cells.lstm_step(p["lstm"], c, xt), carry, xw)
            h = carry[0]
        logits = h @ p["dense"]["kernel"] + p["dense"]["bias"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    f = flops()
    rows.append(("forward only (no gradient, no Adam)", _best(epoch_of(loss, grad=False), params, x, y, repeats=repeats),
                 f["projection fwd+grad"] // 2 + f["recurrence fwd"]))
    rows.append(("train step without the input projection",
                 _best(epoch_of(functools.partial(loss, part="no_projection")), params, x, y, repeats=repeats),
                 f["recurrence fwd"] + f["recurrence bwd (dh, dU)"]))
    rows.append(("train step without the recurrence",
                 _best(epoch_of(functools.partial(loss, part="no_recurrence")), params, x, y, repeats=repeats),
                 f["projection fwd+grad"]))

    u = jnp.asarray(rng.normal(size=(H, G)).astype(np.float32) * 0.1)
    h0 = jnp.ones((B, H), jnp.float32)
    chain = STEPS * T * 3  # one product forward, two backward per cell step

    @jax.jit
    def matmul_chain(u, h):
        return jax.lax.fori_loop(0, chain, lambda i, h: (h @ u)[:, :H], h)

    @jax.jit
    def forward_cells(u, h, xw):
        def outer(i, carry):
            return jax.lax.scan(lambda c, xt: cells.lstm_step({"recurrent_kernel": u}, c, xt), carry, xw)[0]
        return jax.lax.fori_loop(0, STEPS, outer, (h, h))

    rows.append((f"the forward recurrence alone ({STEPS * T:,} lstm_cell steps)",
                 _best(forward_cells, u, h0, xw_const, repeats=repeats), f["recurrence fwd"]))
    rows.append((f"the recurrence's {chain:,} dependent [32,30]@[30,120] products alone",
                 _best(matmul_chain, u, h0, repeats=repeats), chain * 2 * B * H * G))
    return rows


def main(argv):
    import jax

    rows = measure(FLAGS.repeats)
    lines = ["| program (seed shapes, one epoch) | s/epoch | GFLOP | GFLOP/s |", "|---|---|---|---|"]
    for name, sec, fl in rows:
        lines.append(f"| {name} | {sec:.3f} | {fl / 1e9:.2f} | {fl / 1e9 / sec:.1f} |")
    md = ("# Where the seed config's CPU epoch goes\n\n"
          f"Command: `python -m experiments.bench.cpu_bounds {' '.join(sys.argv[1:])}`\n\n"
          f"date: {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, jax {jax.__version__}, "
          f"device {jax.devices()[0].platform}, best of {FLAGS.repeats} warm epochs\n\n" + "\n".join(lines) + "\n")
    files.atomic_write(FLAGS.out + ".md", md)
    print(md)
    return 0


if __name__ == "__main__":
    cli.run(main, logging.WARNING)  # bad input: one "error:" line and a non-zero exit
