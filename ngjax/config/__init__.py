"""The run's configuration: one frozen dataclass per concern (``ngjax.config.sections``: data,
embeddings, model, optimizer, training, distillation, speed, run), each checking its own rules,
and ``Config``, their union: flat, frozen, validated once, saved as workdir/config.json.

Every option is stated once, as a field of its section (name, type, default, help text, allowed
values). ``ngjax.cli`` turns the fields into absl flags of the same names; :func:`validate` checks
each field, each section, then the few rules that span sections. ``cfg.section("model")`` is a
section's view of a Config. A new option is one field in one section.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, Optional, Tuple  # noqa: F401 (Optional: the fields' annotations resolve here)

from ngjax.config.base import (ADAM_RULES, RECURRENCES, REMOVABLE, SHARDS, ConfigError,  # noqa: F401 (re-exported)
                               check_field, option)
from ngjax.config.sections import (DataConfig, DistillationConfig, EmbeddingConfig, ModelConfig, OptimizerConfig,
                                   RunConfig, SpeedConfig, TrainingConfig)

# The sections, in the order --help shows them.
SECTION_CLASSES = {"data": DataConfig, "embeddings": EmbeddingConfig, "model": ModelConfig,
                   "optimizer": OptimizerConfig, "training": TrainingConfig, "distillation": DistillationConfig,
                   "speed": SpeedConfig, "run": RunConfig}
SECTIONS = {name: tuple(f.name for f in dataclasses.fields(cls)) for name, cls in SECTION_CLASSES.items()}
SECTION_OF = {field: section for section, names in SECTIONS.items() for field in names}

# What a key missing from a saved config.json meant when that file was written, where it is not
# today's default: workdirs from before --adam existed were trained with optax's Adam, those from
# before --recurrence and --shard=auto with jax.grad of the scan, split over the devices by batch.
LEGACY_DEFAULTS = {"adam": "optax", "recurrence": "autodiff", "shard": "data"}
# Old boolean options, now values of --recurrence (flags, experiment files and saved configs still
# use them): (name, value when true), checked in this order.
RECURRENCE_ALIASES = (("distinct_words", "distinct"), ("manual_backward", "manual"))

# Random embeddings default to the seed's 100 dimensions; GloVe ones follow the vectors.
RANDOM_EMBED_DIM = 100


class _Methods:
    """What a Config does besides holding its fields."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "Config":
        known = set(FIELDS) | {name for name, _ in RECURRENCE_ALIASES}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}; known keys: {sorted(known)}")
        d = upgrade(d)
        if "remove" in d:
            d["remove"] = normalize_remove(d["remove"])
        return cls(**d)

    @classmethod
    def from_saved(cls, d: dict) -> "Config":
        """A config.json as written by any ngjax version: missing keys get what they meant then."""
        d = upgrade(d)
        return cls.from_dict({**{k: v for k, v in LEGACY_DEFAULTS.items() if k not in d}, **d})

    def replace(self, **kw: Any) -> "Config":
        return dataclasses.replace(self, **kw)

    def section(self, name: str):
        """The section ``name`` of this config (e.g. ``cfg.section("model").masked``)."""
        cls = SECTION_CLASSES[name]
        return cls(**{field: getattr(self, field) for field in SECTIONS[name]})


def _union() -> type:
    fields = []
    for cls in SECTION_CLASSES.values():
        hints = {f.name: f.type for f in dataclasses.fields(cls)}
        for f in dataclasses.fields(cls):
            fields.append((f.name, hints[f.name], dataclasses.field(default=f.default, metadata=f.metadata)))
    union = dataclasses.make_dataclass("Config", fields, bases=(_Methods,), frozen=True)
    union.__module__ = __name__  # its annotations (strings) resolve in this module
    union.__doc__ = ("Every option of a run, flat: the union of the sections' fields (see the module "
                     "docstring); frozen, hashable.")
    return union


Config = _union()
FIELDS: Dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Config)}
# Keys that may differ between a workdir's saved config and a resumed run.
HARMLESS_KEYS = frozenset(name for name, f in FIELDS.items() if f.metadata["harmless"])


def upgrade(d: dict) -> dict:
    """A copy of config dict ``d`` with the old booleans --manual_backward / --distinct_words turned
    into --recurrence (both false: autodiff, as before --recurrence existed); a --recurrence that
    disagrees with them is an error."""
    d = dict(d)
    old = {name: bool(d.pop(name)) for name, _ in RECURRENCE_ALIASES if name in d}
    if not old:
        return d
    implied = next((value for name, value in RECURRENCE_ALIASES if old.get(name)), "autodiff")
    given = d.get("recurrence")
    if given not in (None, "auto", implied):
        names = " ".join(f"--{name}" for name in old if old[name]) or "--nomanual_backward"
        raise ConfigError(f"{names} (the old name of --recurrence={implied}) and --recurrence={given} disagree; "
                          "keep --recurrence only")
    d["recurrence"] = implied
    return d


def normalize_remove(value) -> Tuple[str, ...]:
    """'headers,quotes' or a list -> a sorted tuple of distinct parts."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    return tuple(sorted(set(value)))


def masked(cfg) -> bool:
    """Whether padding is masked: asked for, or needed by a backward direction or a pooled head."""
    return cfg.mask_padding or cfg.bidirectional or cfg.pool != "last"


def validate(cfg: Config) -> Config:
    """Raise ConfigError naming the first bad option; return cfg unchanged otherwise. Each field's
    allowed values, then each section's own rules, then the rules across sections."""
    for field in FIELDS.values():
        check_field(field, getattr(cfg, field.name))
    sections = {name: cfg.section(name) for name in SECTIONS}
    for section in sections.values():
        section.check()
    _across(cfg, sections["model"].masked, sections["embeddings"].trainable)
    return cfg


def _across(cfg: Config, is_masked: bool, trainable_table: bool) -> None:
    """The rules that span sections (the section named first owns the option the message names)."""
    if cfg.early_stopping and not cfg.val_fraction:  # training x data
        raise ConfigError(f"--early_stopping={cfg.early_stopping} watches the validation split; add "
                          "--val_fraction (e.g. 0.1)")
    if cfg.seeds > 1 and cfg.loop == "step":  # training x speed
        raise ConfigError(f"--loop=step runs one replica; use --loop=epoch with --seeds={cfg.seeds}")
    if cfg.embedding_optimizer == "lazy_adam" and not trainable_table:  # optimizer x embeddings
        raise ConfigError("--embedding_optimizer=lazy_adam updates a trainable table; use it with "
                          "--embeddings=random or --finetune_embedding (GloVe tables are frozen)")
    if cfg.length_buckets and not is_masked:  # speed x model
        raise ConfigError("--length_buckets drops padding steps, which changes an unmasked model; add "
                          "--mask_padding (or use --bidirectional / a pooled head, which mask)")
    if cfg.shard == "directions" and not cfg.bidirectional:  # speed x model
        raise ConfigError("--shard=directions splits a bidirectional layer's two directions over two devices; add "
                          "--bidirectional, or use --shard=data")
    if cfg.recurrence in ("manual", "distinct") and not is_masked:  # speed x model
        raise ConfigError(f"--recurrence={cfg.recurrence} replaces the masked recurrence's gradient; add "
                          "--mask_padding (or use --bidirectional / a pooled head, which mask), or use "
                          "--recurrence=auto")
    if cfg.recurrence == "distinct" and cfg.seeds > 1:  # speed x training
        raise ConfigError("--recurrence=distinct picks each batch's path by its own words, which K replicas' different "
                          "batches would run both of; use --recurrence=manual (or auto) with --seeds>1")
