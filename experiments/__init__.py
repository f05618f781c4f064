"""Named variants: each ``experiments/<name>.py`` that defines ``CONFIG`` (a dict of Config fields).

Use one with ``python -m ngjax.main --experiment=<name>``; flags on the command line override it.
"""

import pkgutil


def available():
    """Names of the variant modules (those defining CONFIG)."""
    import importlib

    names = []
    for info in pkgutil.iter_modules(__path__):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(mod, "CONFIG"):
            names.append(info.name)
    return sorted(names)
