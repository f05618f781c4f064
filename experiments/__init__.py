"""Experiments: named variants (``experiments/<family>/<name>.py``, each defining ``CONFIG``, a dict
of Config fields), the drivers that run tables of them (``experiments/*.py``), and their results
(``experiments/results/``).

Use a variant with ``python -m ngjax.main --experiment=<name>``; flags on the command line override
it. Families: ``seed`` (the seed study's six variants), ``beyond`` (the ladder past it). Adding a variant is one file in a family
folder; adding a family is a folder with an ``__init__.py``.
"""

import os
import pkgutil

FAMILIES = ("seed", "beyond")


def _variant_files():
    """{name: (family, path)} of every variant module, found without importing any."""
    found = {}
    here = os.path.dirname(__file__)
    for family in FAMILIES:
        folder = os.path.join(here, family)
        for info in pkgutil.iter_modules([folder]):
            path = os.path.join(folder, info.name + ".py")
            if os.path.exists(path) and any(line.startswith("CONFIG =") for line in open(path)):
                found[info.name] = (family, path)
    return found


def available():
    """Names of the variants (modules defining CONFIG)."""
    return sorted(_variant_files())


def load(name: str) -> dict:
    """The ``CONFIG`` dict of variant ``name``; ConfigError naming the choices if unknown."""
    import importlib

    from ngjax.config import ConfigError

    if not name.replace("_", "").isalnum():
        raise ConfigError(f"--experiment={name!r}: not a valid experiment name")
    where = _variant_files().get(name)
    if where is None:
        raise ConfigError(f"--experiment={name}: unknown; available: {', '.join(available())}")
    mod = importlib.import_module(f"{__name__}.{where[0]}.{name}")
    return dict(mod.CONFIG)
