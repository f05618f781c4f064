"""The run's configuration: one frozen dataclass, validated once, saved as workdir/config.json."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Optional, Tuple

from ngjax.errors import NgjaxError

CELLS = ("lstm", "rnn")
EMBEDDINGS = ("glove", "random")
PAD_MODES = ("pre", "post")
REMOVABLE = ("headers", "footers", "quotes")
LOOPS = ("epoch", "step")
SHARDS = ("data", "seeds", "none")
EMBEDDING_OPTIMIZERS = ("adam", "lazy_adam")
ADAM_RULES = ("keras", "optax")  # as ngjax.optim.ADAM_RULES (config imports nothing heavy)

# What a key missing from a saved config.json meant when that file was written, where it is not
# today's default: workdirs from before --adam existed were trained with optax's Adam.
LEGACY_DEFAULTS = {"adam": "optax"}

# Keys that may differ between a workdir's saved config and a resumed run: they change how
# long or how a run is executed and logged, never what is computed per step.
HARMLESS_KEYS = frozenset(
    {"epochs", "checkpoint_every", "keep_checkpoints", "loop", "unroll", "eval_batch_size",
     "experiment", "shard"}
)

# Random embeddings default to the seed's 100 dimensions; GloVe ones follow the vectors.
RANDOM_EMBED_DIM = 100


class ConfigError(NgjaxError, ValueError):
    """A bad option value; the message names the flag and what is allowed."""


@dataclasses.dataclass(frozen=True)
class Config:
    # model
    cell: str = "lstm"
    hidden_size: int = 30
    embeddings: str = "glove"
    embed_dim: Optional[int] = None  # None: the GloVe file's dimension (random: 100)
    glove_path: Optional[str] = None  # None: the bundled GloVe 6B 50d package
    mask_padding: bool = False
    # data
    data_dir: Optional[str] = None  # None: scikit-learn's fetch_20newsgroups
    remove: Tuple[str, ...] = ()
    num_words: int = 20000
    seq_len: int = 30
    padding: str = "pre"
    truncating: str = "pre"
    val_fraction: float = 0.0
    val_seed: int = 0
    # training
    batch_size: int = 32
    epochs: int = 50
    learning_rate: float = 1e-3
    embedding_optimizer: str = "adam"  # "lazy_adam": update only a trainable table's batch rows
    adam: str = "keras"  # Adam's update rule: "keras" (the seed's, epsilon-hat) or "optax"
    seed: int = 0
    seeds: int = 1  # independent replicas (seeds seed .. seed+seeds-1) trained in one program
    loop: str = "epoch"  # "epoch": one compiled program per epoch; "step": one per step
    unroll: int = 0  # time-scan unroll; 0 picks the platform's default
    eval_batch_size: int = 1024
    shard: str = "data"  # several devices: split batches ("data") or replicas ("seeds"); "none"
    # checkpoints
    checkpoint_every: int = 1
    keep_checkpoints: int = 3
    experiment: Optional[str] = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}; known keys: {sorted(known)}")
        d = dict(d)
        if "remove" in d:
            d["remove"] = normalize_remove(d["remove"])
        return cls(**d)

    @classmethod
    def from_saved(cls, d: dict) -> "Config":
        """A config.json as written by any ngjax version: missing keys get what they meant then."""
        return cls.from_dict({**{k: v for k, v in LEGACY_DEFAULTS.items() if k not in d}, **d})

    def replace(self, **kw: Any) -> "Config":
        return dataclasses.replace(self, **kw)


def normalize_remove(value) -> Tuple[str, ...]:
    """'headers,quotes' or a list -> a sorted tuple of distinct parts."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    return tuple(sorted(set(value)))


def _positive(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"--{name}={value!r}: must be a positive integer")


def _choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"--{name}={value!r}: allowed values are {', '.join(allowed)}")


def validate(cfg: Config) -> Config:
    """Raise ConfigError naming the first bad option; return cfg unchanged otherwise."""
    _choice("cell", cfg.cell, CELLS)
    _choice("embeddings", cfg.embeddings, EMBEDDINGS)
    _choice("padding", cfg.padding, PAD_MODES)
    _choice("truncating", cfg.truncating, PAD_MODES)
    _choice("loop", cfg.loop, LOOPS)
    _choice("shard", cfg.shard, SHARDS)
    _choice("embedding_optimizer", cfg.embedding_optimizer, EMBEDDING_OPTIMIZERS)
    _choice("adam", cfg.adam, ADAM_RULES)
    for name in ("hidden_size", "num_words", "seq_len", "batch_size", "epochs", "seeds",
                 "eval_batch_size", "checkpoint_every", "keep_checkpoints"):
        _positive(name, getattr(cfg, name))
    if cfg.embed_dim is not None:
        _positive("embed_dim", cfg.embed_dim)
    if cfg.num_words < 2:
        raise ConfigError(f"--num_words={cfg.num_words}: must be at least 2 (index 0 is padding)")
    if not isinstance(cfg.unroll, int) or cfg.unroll < 0:
        raise ConfigError(f"--unroll={cfg.unroll!r}: must be 0 (platform default) or a positive integer")
    if not (isinstance(cfg.learning_rate, (int, float)) and cfg.learning_rate > 0):
        raise ConfigError(f"--learning_rate={cfg.learning_rate!r}: must be a positive number")
    if not (0.0 <= cfg.val_fraction < 1.0):
        raise ConfigError(f"--val_fraction={cfg.val_fraction!r}: must be in [0, 1)")
    bad = [r for r in cfg.remove if r not in REMOVABLE]
    if bad:
        raise ConfigError(f"--remove={','.join(cfg.remove)}: unknown part(s) {bad}; "
                          f"allowed: {', '.join(REMOVABLE)} (comma-separated)")
    if cfg.seeds > 1 and cfg.loop == "step":
        raise ConfigError(f"--loop=step runs one replica; use --loop=epoch with --seeds={cfg.seeds}")
    if cfg.embeddings == "random" and cfg.glove_path:
        raise ConfigError("--glove_path is given with --embeddings=random; drop one of them")
    if cfg.embedding_optimizer == "lazy_adam" and cfg.embeddings != "random":
        raise ConfigError("--embedding_optimizer=lazy_adam updates a trainable table; use it with "
                          "--embeddings=random (GloVe tables are frozen)")
    return cfg


def complete_saved(saved: dict) -> dict:
    """A saved config.json with every key: a missing one had its default value then (or, for the
    keys in LEGACY_DEFAULTS, the meaning it had before the option existed)."""
    defaults = {**json.loads(Config().to_json()), **LEGACY_DEFAULTS}
    return {**{k: v for k, v in defaults.items() if k not in saved}, **saved}


def differing_keys(saved: dict, requested: Config) -> list:
    """Keys whose values differ in a way that changes the model or the data."""
    now = json.loads(requested.to_json())
    saved = complete_saved(saved)
    keys = sorted((set(saved) | set(now)) - HARMLESS_KEYS)
    return [k for k in keys if saved.get(k) != now.get(k)]
