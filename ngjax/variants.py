"""Named variants for ``--experiment=NAME``: a Python file ``NAME.py`` that defines ``CONFIG``, a
dict of Config fields, found in a folder tree of experiments.

Where: the folders in ``$NGJAX_EXPERIMENTS`` (separated by ``os.pathsep``), else ``experiments/``
under the current directory (this repository's root). ngjax itself knows no variant: a research
folder of yours works the same way. A variant file may import another one (``from
experiments.ladder.steps.beyond_long import CONFIG as BASE``): the folder's parent is put on
``sys.path`` while it loads, so a folder that is a package imports as one.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Dict, List

from ngjax.config import ConfigError

ENV = "NGJAX_EXPERIMENTS"


def search_path() -> List[str]:
    """The folders searched, in order."""
    value = os.environ.get(ENV)
    if value:
        return [os.path.abspath(p) for p in value.split(os.pathsep) if p]
    return [os.path.abspath("experiments")]


def _defines_config(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            return any(line.startswith("CONFIG =") for line in f)
    except OSError:
        return False


def variant_files() -> Dict[str, str]:
    """{name: path} of every variant file under the search path (the first folder wins a name)."""
    found: Dict[str, str] = {}
    for root in search_path():
        for folder, dirs, names in sorted(os.walk(root)):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")) and d != "results")
            for name in sorted(names):
                if name.endswith(".py") and not name.startswith("_"):
                    path = os.path.join(folder, name)
                    if name[:-3] not in found and _defines_config(path):
                        found[name[:-3]] = path
    return found


def available() -> List[str]:
    return sorted(variant_files())


def load(name: str) -> dict:
    """The ``CONFIG`` dict of variant ``name``; ConfigError naming the choices (or the search path)."""
    return dict(module(name).CONFIG)


def _path(name: str) -> str:
    """The file of variant ``name`` (the search path walked once); ConfigError naming the choices."""
    if not name.replace("_", "").isalnum():
        raise ConfigError(f"--experiment={name!r}: not a valid experiment name")
    files = variant_files()
    if name not in files:
        where = os.pathsep.join(search_path())
        if not files:
            raise ConfigError(f"--experiment={name}: no variant files under {where}; run from the repository "
                              f"root or set ${ENV} to the folder that holds them")
        raise ConfigError(f"--experiment={name}: unknown; available: {', '.join(sorted(files))} (variant files "
                          f"under {where})")
    return files[name]


def module(name: str):
    """The imported module of variant ``name`` (its CONFIG and whatever else a driver reads from it)."""
    return _import(_path(name))


def _import(path: str):
    """Import ``path`` as a module of the package tree it sits in (its dotted name from the first
    folder up that is not a package), so that its own imports of sibling variants work."""
    folder, parts = os.path.dirname(path), [os.path.basename(path)[:-3]]
    while os.path.exists(os.path.join(folder, "__init__.py")):
        parts.insert(0, os.path.basename(folder))
        folder = os.path.dirname(folder)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(".".join(parts))
