"""Named variants: each ``experiments/<name>.py`` that defines ``CONFIG`` (a dict of Config fields).

Use one with ``python -m ngjax.main --experiment=<name>``; flags on the command line override it.
"""

import pkgutil


def available():
    """Names of the variant modules (those defining CONFIG), found without importing any."""
    import os

    names = []
    for info in pkgutil.iter_modules(__path__):
        path = os.path.join(os.path.dirname(__file__), info.name + ".py")
        if os.path.exists(path) and any(l.startswith("CONFIG =") for l in open(path)):
            names.append(info.name)
    return sorted(names)


def load(name: str) -> dict:
    """The ``CONFIG`` dict of ``experiments/<name>.py``; ConfigError naming the choices if unknown."""
    import importlib

    from ngjax.config import ConfigError

    if not name.replace("_", "").isalnum():
        raise ConfigError(f"--experiment={name!r}: not a valid experiment name")
    try:
        mod = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        raise ConfigError(f"--experiment={name}: unknown; available: {', '.join(available())}") from None
    if not hasattr(mod, "CONFIG"):
        raise ConfigError(f"--experiment={name}: experiments/{name}.py defines no CONFIG (not a variant)")
    return dict(mod.CONFIG)
