"""Fast by default: what ``--recurrence=auto`` and ``--shard=auto`` (and ``--cpu_devices`` left out)
become for a run. Every choice here computes the same math as the reference path up to rounding
(tests: ``test_recurrence``, ``test_devices``); none changes which documents share a batch, so
length buckets stay a choice of the experiment (``--length_buckets``), not of the implementation.

- recurrence: a masked model (bidirectional, pooled, ``--mask_padding``) gets the hand-written
  backward pass with each distinct word of a batch projected once (``distinct``), or without the
  distinct words when ``--seeds=K`` replicas train together (``manual``); an unmasked model (the
  seed's) has one implementation, ``autodiff``. Measured on CPU (experiments/bench); on GPU/TPU the
  same choice lowers (tests/test_lowering.py) and is not yet measured there.
- shard: a bidirectional model with one replica, on a CPU of two or more cores, runs each
  direction on its own core (``directions``, two CPU devices); everything else ``data`` (which
  on one device is no split at all). On a GPU or TPU ``directions`` is refused (one line): it is
  a CPU layout, and there one device runs both directions in one scan.
- A resumed run keeps what its ``config.json`` says it started with, so that resuming on the same
  machine continues the same computation bit for bit.
"""

from __future__ import annotations

import os
from typing import Optional

from ngjax.config import Config, ConfigError, masked


def _saved(saved: Optional[dict], name: str) -> Optional[str]:
    if not saved:
        return None
    try:
        value = getattr(Config.from_saved(saved), name)
    except (TypeError, ValueError):  # an unreadable config.json: ngjax.run.workdir.check says so
        return None
    return None if value == "auto" else value


def _wants_directions(cfg: Config) -> bool:
    return cfg.bidirectional and cfg.seeds == 1


def cpu_devices(cfg: Config, saved: Optional[dict] = None, cores: Optional[int] = None) -> int:
    """``--cpu_devices`` left out: 2 where a bidirectional model's directions will run on two devices
    (``--shard=directions`` asked for or resumed; or ``auto`` with one replica on two or more cores),
    else 0 (JAX's default: one CPU device). Only JAX's CPU backend reads it."""
    shard = cfg.shard if cfg.shard != "auto" else (_saved(saved, "shard") or "auto")
    cores = (os.cpu_count() or 1) if cores is None else cores
    if shard == "directions" and cfg.bidirectional:  # asked for (or resumed): it needs two devices
        return 2
    return 2 if shard == "auto" and _wants_directions(cfg) and cores >= 2 else 0


def recurrence(cfg: Config) -> str:
    """The fastest recurrence that applies to ``cfg`` (see the module's docstring)."""
    if not masked(cfg):
        return "autodiff"
    return "distinct" if cfg.seeds == 1 else "manual"


def shard(cfg: Config, platform: str, devices: int) -> str:
    """The fastest placement for ``cfg`` on ``devices`` devices of ``platform``."""
    if platform == "cpu" and devices == 2 and _wants_directions(cfg):
        return "directions"
    return "data"


def resolve(cfg: Config, saved: Optional[dict], platform: str, devices: int) -> Config:
    """``cfg`` with ``auto`` replaced: a resumed run's saved choice where it still applies, else the
    fastest one here."""
    if cfg.recurrence == "auto":
        kept = _saved(saved, "recurrence")
        if (kept != "autodiff" and not masked(cfg)) or (kept == "distinct" and cfg.seeds > 1):
            kept = None  # not the saved run's model: the workdir check refuses it
        cfg = cfg.replace(recurrence=kept or recurrence(cfg))
    if cfg.shard == "auto":
        kept = _saved(saved, "shard")
        if kept == "directions" and not (platform == "cpu" and devices == 2 and cfg.bidirectional):
            kept = None  # on another machine now: not two CPU devices
        cfg = cfg.replace(shard=kept or shard(cfg, platform, devices))
    if cfg.shard == "directions" and platform != "cpu":
        raise ConfigError(f"--shard=directions runs a bidirectional layer's two directions on two CPU cores; on "
                          f"{platform} one device runs both in one scan: use --shard=data (or auto)")
    return cfg
