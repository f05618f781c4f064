"""The run folder: everything that reads or writes a workdir.

Layout: ``config.json`` (the resolved Config), ``metrics.jsonl`` (one row per epoch),
``summary.json``, ``tokenizer.json`` and ``labels.json`` (what ``ngjax.predict`` needs besides the
weights), ``checkpoints/<epoch>/`` (Orbax, see ``ngjax.run.checkpoint``), ``plots/``, ``report.txt``,
``samples.md``. Every file is written atomically (``ngjax.files``). :func:`load_run` reads a
finished run from its workdir alone (no corpus, no GloVe file: the frozen table is in the
checkpoint), so predictions and reports start in seconds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any, List, Optional

from ngjax import files
from ngjax.config import HARMLESS_KEYS, LEGACY_DEFAULTS, Config, upgrade
from ngjax.errors import NgjaxError

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
TOKENIZER_FILE = "tokenizer.json"
LABELS_FILE = "labels.json"
CHECKPOINTS = "checkpoints"
BEST_CHECKPOINTS = "checkpoints_best"  # the best validation epoch (ngjax.train.selection)
FINAL_RUN_FILE = "final_run.json"  # in a folder that stands for a run inside it (e.g. a recipe's)


def path(workdir: str, name: str) -> str:
    return os.path.join(workdir, name)


def final_run(workdir: str) -> str:
    """The run folder ``workdir`` stands for: itself, or, for a folder of several runs whose
    ``final_run.json`` names the one to use (``{"run": "student"}``, written by a recipe such as
    ``ngjax.distill.recipe``), that run's folder."""
    pointer = path(workdir, FINAL_RUN_FILE)
    if os.path.exists(pointer) and not os.path.exists(path(workdir, CONFIG_FILE)):
        try:
            with open(pointer, encoding="utf-8") as f:
                inner = json.load(f)["run"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise NgjaxError(f"{pointer}: unreadable ({e}); it names the folder's final run, e.g. "
                             '{"run": "student"}') from None
        return os.path.join(workdir, inner)
    return workdir


# ----------------------------------------------------------------------------- guards
def _has_results(workdir: str) -> bool:
    ck = path(workdir, CHECKPOINTS)
    metrics = path(workdir, METRICS_FILE)
    return (os.path.isdir(ck) and any(n.isdigit() for n in os.listdir(ck))) or (
        os.path.exists(metrics) and os.path.getsize(metrics) > 0)


def check(cfg: Config, workdir: str, restart: bool = False) -> None:
    """Refuse a workdir that is not a folder, or whose results come from a different model or data
    (unless ``restart``: its files are then set aside, see :func:`set_aside`)."""
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise NgjaxError(f"--workdir={workdir} is a file, not a folder; pass a new or existing run folder")
    if restart:
        return
    saved_path = path(workdir, CONFIG_FILE)
    if not os.path.exists(saved_path) or not _has_results(workdir):
        return  # nothing to lose: a run that stopped before its first epoch is simply replaced
    try:
        with open(saved_path) as f:
            saved = json.load(f)
    except (OSError, ValueError) as e:
        raise NgjaxError(f"{saved_path} is unreadable ({e}); fix it, use a new --workdir, or --restart to set the "
                         "run's files aside (in attic/) and train from epoch 1") from None
    diff = differing_keys(saved, cfg)
    if diff:
        now, saved = json.loads(cfg.to_json()), complete_saved(saved)
        shown = "; ".join(f"{k}: saved {saved.get(k)!r}, requested {now.get(k)!r}" for k in diff[:6])
        raise NgjaxError(f"--workdir={workdir} holds a run with a different config ({shown}); "
                         "use a new --workdir, repeat that run's flags to resume it, or --restart to set it aside "
                         "(in attic/) and train this config there")


ATTIC = "attic"  # where --restart sets a run's previous files aside


def set_aside(workdir: str) -> Optional[str]:
    """--restart: move everything in ``workdir`` (but earlier set-aside runs) to
    ``workdir/attic/<UTC time>/`` and return that folder; None when there was nothing to move.
    Nothing is deleted."""
    if not os.path.isdir(workdir):
        return None
    names = sorted(n for n in os.listdir(workdir) if n != ATTIC)
    if not names:
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    dest = path(workdir, os.path.join(ATTIC, stamp))
    n = 1
    while os.path.exists(dest):
        n += 1
        dest = path(workdir, os.path.join(ATTIC, f"{stamp}-{n}"))
    os.makedirs(dest)
    for name in names:
        os.replace(path(workdir, name), os.path.join(dest, name))
    return dest


def quarantined(workdir: str) -> List[str]:
    """The damaged checkpoints moved aside (``checkpoints_corrupt/``), if any."""
    folder = path(workdir, CHECKPOINTS + "_corrupt")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


# ----------------------------------------------------------------------------- writers
def write_config(workdir: str, cfg: Config) -> None:
    files.atomic_write(path(workdir, CONFIG_FILE), cfg.to_json())


def save_vocabulary(workdir: str, tokenizer, target_names) -> None:
    """What predict needs besides the checkpoint: the fitted tokenizer and the group names."""
    files.atomic_write(path(workdir, TOKENIZER_FILE), tokenizer.to_json())
    files.atomic_write(path(workdir, LABELS_FILE), json.dumps(list(target_names)))


def write_metrics(workdir: str, history: List[dict]) -> None:
    """metrics.jsonl from a checkpoint's history (drops rows a killed run wrote past its last save)."""
    files.write_jsonl(path(workdir, METRICS_FILE), history)


def append_metrics(workdir: str, row: dict) -> None:
    with open(path(workdir, METRICS_FILE), "a") as f:
        f.write(json.dumps(row) + "\n")


def write_summary(workdir: str, summary: dict) -> None:
    files.write_json(path(workdir, SUMMARY_FILE), summary)


# ----------------------------------------------------------------------------- readers
def read_history(workdir: str) -> list:
    return files.read_jsonl(path(workdir, METRICS_FILE))


def saved_config(workdir: str) -> Optional[dict]:
    """The workdir's config.json as a dict, or None when there is none (or it is unreadable:
    ``check`` reports that)."""
    try:
        with open(path(workdir, CONFIG_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_config(workdir: str) -> Config:
    """The run's Config as saved (keys an older ngjax did not write get what they meant then)."""
    return Config.from_saved(json.loads(_read(workdir, CONFIG_FILE)))


def _read(workdir: str, name: str) -> str:
    p = path(workdir, name)
    if not os.path.exists(p):
        raise NgjaxError(f"--workdir={workdir}: no {name}; is it an ngjax run folder "
                         "(made by python -m ngjax.main --workdir=...)?")
    with open(p) as f:
        return f.read()


@dataclasses.dataclass
class Run:
    cfg: Config
    spec: Any  # model.ModelSpec
    tokenizer: Any  # tokenizer.Tokenizer
    target_names: List[str]
    params: dict
    epoch: int


def load_run(workdir: str) -> Run:
    """A finished run's config, tokenizer, group names and params (replica 0 of --seeds): those of
    its best validation epoch when it has a validation split, else of its latest checkpoint."""
    import jax
    import numpy as np

    from ngjax.train import inputs, state as state_lib
    from ngjax.run.checkpoint import Checkpoints
    from ngjax.data.tokenizer import Tokenizer

    if not os.path.isdir(workdir):
        raise NgjaxError(f"--workdir={workdir}: no such folder")
    workdir = final_run(workdir)
    cfg = read_config(workdir)
    tokenizer = Tokenizer.from_json(_read(workdir, TOKENIZER_FILE))
    names = json.loads(_read(workdir, LABELS_FILE))
    rows = min(tokenizer.vocab_size + 1, cfg.num_words)
    spec = inputs.spec_for(cfg, rows, len(names))
    tx = inputs.optimizer_for(cfg)
    table = np.zeros((rows, cfg.embed_dim), np.float32) if cfg.embeddings == "glove" else None
    abstract = jax.eval_shape(lambda: state_lib.init_state(cfg.seed, cfg.seeds, spec, tx, table))
    # restored onto this process's first device, whatever the devices it was trained on (two with
    # --shard=directions, a data mesh): without a sharding Orbax would ask for the saved topology
    here = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    abstract = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=here), abstract)
    best = path(workdir, BEST_CHECKPOINTS)  # with a validation split the run reports its best epoch
    ckdir = best if os.path.isdir(best) and any(n.isdigit() for n in os.listdir(best)) else path(workdir, CHECKPOINTS)
    got = Checkpoints(ckdir, read_only=True).restore_latest_good(abstract) if os.path.isdir(ckdir) else None
    if got is None:
        raise NgjaxError(f"--workdir={workdir}: no finished checkpoint yet (training has not completed "
                         "an epoch); run or resume python -m ngjax.main with this --workdir first")
    _, state, _ = got
    if cfg.seeds > 1:
        state = state_lib.replica(state, 0)  # predictions and reports use the first replica
    return Run(cfg, spec, tokenizer, names, state_lib.full_params(state), int(state.epoch))


def finished(cfg: Config, workdir: str) -> bool:
    """Whether ``workdir`` holds a finished run of ``cfg`` (its summary written, the same config,
    --epochs reached or stopped early): a driver reads it back without starting it again."""
    from ngjax.train.inputs import resolve

    summary_path, config_path = path(workdir, SUMMARY_FILE), path(workdir, CONFIG_FILE)
    if not (os.path.exists(summary_path) and os.path.exists(config_path)):
        return False
    try:
        saved, summary = files.read_json(config_path), files.read_json(summary_path)
        if differing_keys(saved, resolve(cfg, saved)):
            return False
    except (NgjaxError, ValueError, OSError):
        return False  # let the run itself say what is wrong
    return summary.get("epochs", 0) >= cfg.epochs or bool(summary.get("stopped_early"))


# Resuming: which saved keys may differ from the request

def complete_saved(saved: dict) -> dict:
    """A saved config.json with every key: a missing one had its default value then (or, for the
    keys in LEGACY_DEFAULTS, the meaning it had before the option existed)."""
    defaults = {**json.loads(Config().to_json()), **LEGACY_DEFAULTS}
    saved = upgrade(saved)  # the old names of today's options
    return {**{k: v for k, v in defaults.items() if k not in saved}, **saved}


def differing_keys(saved: dict, requested: Config) -> list:
    """Keys whose values differ in a way that changes the model or the data."""
    now = json.loads(requested.to_json())
    saved = complete_saved(saved)
    keys = sorted((set(saved) | set(now)) - HARMLESS_KEYS)
    return [k for k in keys if saved.get(k) != now.get(k) and not (k in PATH_KEYS and _same_path(saved[k], now[k]))]


PATH_KEYS = ("data_dir", "teacher")  # files or folders: one spelled relative or absolute is the same


def _same_path(a: Optional[str], b: Optional[str]) -> bool:
    """Two spellings of one file or folder (relative to the current directory, or absolute)."""
    return a is not None and b is not None and os.path.realpath(a) == os.path.realpath(b)
