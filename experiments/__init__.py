"""Experiments, one study per folder, each with its code, its results and a README:

- ``seed/``: the seed study's six variants, the seed table (``python -m experiments.seed.table``), the
  Keras reference;
- ``beyond/``: the ladder past the seed (``python -m experiments.ladder``);
- benchmarks and profiles (``python -m experiments.bench.benchmark``).

A variant is a file ``NAME.py`` defining ``CONFIG`` (Config fields), run with
``python -m ngjax.main --experiment=NAME`` from the repository root (found by ``ngjax.variants``).
"""

from ngjax.variants import available, load  # noqa: F401 (the drivers' way to read variants)

# The implementation every committed number was made with: jax.grad of the scan, evaluation in
# fixed chunks, one device (the defaults now pick the fastest path, which agrees up to rounding).
# Variant files behind committed numbers pin it, so that those numbers reproduce bit for bit.
REFERENCE = dict(recurrence="autodiff", shard="data")
