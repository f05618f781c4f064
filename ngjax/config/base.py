"""What every configuration section uses: the field helper, the error type, value checks, and the
names of the allowed values (``ngjax.config`` imports nothing heavy)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Tuple

from ngjax.errors import NgjaxError

REMOVABLE = ("headers", "footers", "quotes")
ADAM_RULES = ("keras", "optax")  # as ngjax.train.optim.ADAM_RULES
RECURRENCES = ("autodiff", "manual", "distinct")
SHARDS = ("data", "seeds", "directions", "none")


class ConfigError(NgjaxError, ValueError):
    """A bad option value; the message names the flag and what is allowed."""


def option(default: Any, help: str, *, choices: Tuple[str, ...] = (), positive: bool = False,
           harmless: bool = False) -> Any:
    """A config field with its flag help. ``choices``: the allowed values; ``positive``: a positive
    integer (None allowed where the default is None); ``harmless``: may differ when a workdir is
    resumed (it changes how long or how a run executes or logs, never what a step computes)."""
    return dataclasses.field(default=default, metadata={
        "help": help, "choices": tuple(choices), "positive": positive, "harmless": harmless})


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fraction(name: str, value) -> None:
    if not (is_number(value) and 0.0 <= value < 1.0):
        raise ConfigError(f"--{name}={value!r}: must be in [0, 1)")


def at_least_zero(name: str, value) -> None:
    if not (is_number(value) and 0 <= value < math.inf):
        raise ConfigError(f"--{name}={value!r}: must be a (finite) number >= 0")


def zero_or_count(name: str, value) -> None:
    if not is_int(value) or value < 0:
        raise ConfigError(f"--{name}={value!r}: must be 0 (off) or a positive integer")


def check_field(field: dataclasses.Field, value) -> None:
    """A field's own metadata: its allowed values, a positive integer."""
    meta = field.metadata
    if meta["choices"] and value not in meta["choices"]:
        raise ConfigError(f"--{field.name}={value!r}: allowed values are {', '.join(meta['choices'])}")
    if meta["positive"] and not (value is None and field.default is None):
        if not is_int(value) or value <= 0:
            raise ConfigError(f"--{field.name}={value!r}: must be a positive integer")
