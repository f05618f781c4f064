"""What the experiment drivers share: their common flags, reading a finished run folder, and
writing a result table (``OUT.md`` + ``OUT.json``, atomically) headed by the command that made it."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Callable, List, Optional, Tuple

from absl import flags, logging

from ngjax import files
from ngjax.errors import NgjaxError


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
    from ngjax.run import workdir as workdir_lib

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


# Relative cost of a variant (longest first keeps N workers evenly busy): the recurrence is
# sequential in seq_len, and a trainable embedding adds a dense Adam update of its table.
def _cost(cfg) -> float:
    return cfg.seq_len * (2.5 if cfg.embeddings == "random" else 1.0) * (0.5 if cfg.cell == "rnn" else 1.0)


def resolve_workers(value: str, jobs: int) -> int:
    """--workers: a positive number, or auto = CPU cores without an accelerator plugin, else 1."""
    import importlib.util

    if value == "auto":
        accel = any(importlib.util.find_spec(m) for m in
                    ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_rocm60_plugin", "libtpu"))
        n = 1 if accel else (os.cpu_count() or 1)
    else:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise NgjaxError(f"--workers={value!r} must be a positive number or auto")
    return max(1, min(n, jobs))


def _train_logged(cfg, workdir: str, cache_dir) -> Optional[str]:
    """One variant in a worker process, its output in WORKDIR/train.log; an error as text."""
    import contextlib

    from ngjax.train import loop as train

    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "train.log"), "a", buffering=1) as log, \
            contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        logging.set_verbosity(logging.WARNING)
        try:
            train.train_and_evaluate(cfg, workdir, cache_dir)
        except NgjaxError as e:
            return str(e)
    return None


def run_variants(jobs, workers: int, cache_dir) -> Optional[str]:
    """Train [(name, cfg, workdir)]; the first error as 'name: message', else None. Finished runs
    are read back, not started."""
    from ngjax.run.workdir import finished
    from ngjax.train import loop as train

    todo = []
    for name, cfg, workdir in jobs:
        if finished(cfg, workdir):
            print(f"=== {name}: finished in {workdir}; read back", flush=True)
        else:
            todo.append((name, cfg, workdir))
    jobs = todo
    if not jobs:
        return None

    if workers == 1:
        for name, cfg, workdir in jobs:
            print(f"=== {name}: {cfg.seeds} seeds x {cfg.epochs} epochs -> {workdir}", flush=True)
            try:
                train.train_and_evaluate(cfg, workdir, cache_dir)
            except NgjaxError as e:
                return f"{name}: {e}"
        return None
    import concurrent.futures as cf
    import multiprocessing

    jobs = sorted(jobs, key=lambda j: -_cost(j[1]))
    error = None
    with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        running = {}
        for name, cfg, workdir in jobs:
            running[pool.submit(_train_logged, cfg, workdir, cache_dir)] = (name, time.time())
            print(f"=== {name}: {cfg.seeds} seeds x {cfg.epochs} epochs -> {workdir} "
                  f"(queued; log: {os.path.join(workdir, 'train.log')})", flush=True)
        for fut in cf.as_completed(running):
            name, t0 = running[fut]
            msg = fut.result()
            print(f"=== {name}: {'failed: ' + msg if msg else 'done'} ({time.time() - t0:.0f} s since queued)",
                  flush=True)
            if msg and error is None:
                error = f"{name}: {msg}"
                for other in running:
                    other.cancel()
    return error


def train_all(make_jobs: Callable[[], list], workers_flag: str, cache_dir) -> Tuple[list, int, int]:
    """(jobs, workers, exit code): build the jobs, train them ``--workers`` at a time; a bad flag
    prints one line and gives 2, a failed run 1."""
    try:
        jobs = make_jobs()
        workers = resolve_workers(workers_flag, len(jobs))
    except NgjaxError as e:
        print(f"error: {e}", file=sys.stderr)
        return [], 0, 2
    error = run_variants(jobs, workers, cache_dir)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return jobs, workers, 1
    return jobs, workers, 0
