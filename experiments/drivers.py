"""What the experiment drivers share: their common flags, reading a finished run folder, and
writing a result table (``OUT.md`` + ``OUT.json``, atomically) headed by the command that made it."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, List, Tuple

from absl import flags

from ngjax import files


def define_common_flags(runs_dir: str, out: str) -> None:
    """--data_dir, --cache_dir, --glove_path, --glove200_path, --epochs, --runs_dir, --out."""
    flags.DEFINE_string("data_dir", None, "20news-bydate.tar.gz or folder (default: scikit-learn download).")
    flags.DEFINE_string("cache_dir", None, "Token/GloVe cache.")
    flags.DEFINE_string("glove_path", None, "GloVe file for the GloVe variants (default: bundled 50d).")
    flags.DEFINE_string("glove200_path", None, "A 200-d GloVe file: adds experiment 6.")
    flags.DEFINE_integer("epochs", 50, "Epochs per run.")
    flags.DEFINE_string("runs_dir", runs_dir, "Parent folder of the runs (one per variant).")
    flags.DEFINE_string("out", out, "Output path without extension (.md, .json).")


def read_run(workdir: str) -> Tuple[List[dict], dict]:
    """(metrics history, config.json) of a run folder."""
    from ngjax import workdir as workdir_lib

    with open(workdir_lib.path(workdir, workdir_lib.CONFIG_FILE)) as f:
        return workdir_lib.read_history(workdir), json.load(f)


def command(module: str) -> str:
    """The command line that is running, as a user would type it."""
    return f"python -m {module} {' '.join(sys.argv[1:])}".rstrip()


def write_results(out: str, markdown: str, payload: Any) -> None:
    """OUT.md and OUT.json, each written atomically."""
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    files.atomic_write(out + ".md", markdown)
    files.write_json(out + ".json", payload)
