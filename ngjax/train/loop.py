"""The run: ``train_and_evaluate(config, workdir)`` as a sequence of named stages.

Resolve the config, guard the workdir, load the inputs, write the run's files, restore or create
the state, place the data, compile (``ngjax.train.steps``), train epoch by epoch (evaluate, log,
checkpoint, select on validation, stop early or on a signal), then the summary and the report.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from ngjax.train import devices as distributed, inputs as inputs_lib, metrics, selection
from ngjax.run import workdir as workdir_lib
from ngjax.model import network as model_lib
from ngjax.run.checkpoint import Checkpoints, restore_from_path
from ngjax.config import Config
from ngjax.errors import InterruptedRun, NgjaxError
from ngjax.train.interrupt import StopSignal
from ngjax.train.state import TrainState, abstract, epoch_of, full_params, init_state, place, replica
from ngjax.train.steps import Programs, bucket_plans, compile_programs, train_epoch_stepwise


def train_and_evaluate(cfg: Config, workdir: str, cache_dir: Optional[str] = None,
                       restore_from: Optional[str] = None, report: bool = True, restart: bool = False) -> dict:
    """Train ``cfg`` in ``workdir`` (resuming what is there) and return the summary dict.
    ``restart``: set the folder's files aside (``workdir/attic/``) and train from the start."""
    t_start = time.perf_counter()
    distributed.use_compilation_cache(cache_dir)
    cfg = inputs_lib.resolve(cfg, None if restart else workdir_lib.saved_config(workdir))
    workdir_lib.check(cfg, workdir, restart)
    mesh = distributed.make_mesh(cfg.shard, cfg.seeds, cfg.batch_size, cfg.eval_batch_size)
    run = inputs_lib.load_inputs(cfg, cache_dir)  # data and vectors first: a bad input leaves no workdir
    if cfg.shard == "directions":
        run = dataclasses.replace(run, spec=dataclasses.replace(run.spec, direction_mesh=mesh))
    say = _printer()
    if restart and distributed.is_main():
        aside = workdir_lib.set_aside(workdir)
        if aside:
            say(f"--restart: the run's previous files are in {aside}/", flush=True)
    _open_workdir(workdir, run, say)
    ckpts = _Saves(workdir, cfg, has_val=run.data.x_val is not None)
    state, history = _initial_state(run, mesh, ckpts.latest, restore_from, say)
    if distributed.is_main():
        workdir_lib.write_metrics(workdir, history)
    train_xy = run.train_arrays()
    splits, batch_sharding = _place_data(run.data, train_xy, mesh, cfg.shard)
    # the implementation, as chosen (--shard, --recurrence: auto picks the fastest, see ngjax.train.fastest)
    say(f"Processes: {jax.process_count()}, devices: {1 if mesh is None else len(mesh.devices)} x "
        f"{jax.devices()[0].platform}, --shard={cfg.shard}, --recurrence={cfg.recurrence}", flush=True)
    programs = compile_programs(cfg, run.spec, run.tx, state, batch_sharding, bucket_plans(run.data, cfg, train_xy[0]),
                                **({"loss": run.loss} if run.loss else {}))
    with StopSignal() as stop:
        state = _train_epochs(run, state, history, splits, programs, ckpts, workdir, stop, say)
    if stop.signum is not None:
        ckpts.close()
        raise InterruptedRun(f"interrupted by {stop.name} after epoch {epoch_of(state)}; checkpoint "
                             "saved. Run the same command to resume")
    state = ckpts.selected_state(state, history)
    ckpts.close()
    _test_at_end(run, state, history, splits, programs, workdir)
    summary = _summary(run, history, time.perf_counter() - t_start)
    if distributed.is_main():
        workdir_lib.write_summary(workdir, summary)
    if report and history:
        _report(workdir, run, state, history, say)
    return summary


class _Saves:
    """The run's checkpoints: the latest (every --checkpoint_every epochs, the last, on a signal)
    and, with a validation split, the best epoch by --monitor in checkpoints_best/."""

    def __init__(self, workdir: str, cfg: Config, has_val: bool):
        self.cfg = cfg
        self.latest = Checkpoints(workdir_lib.path(workdir, workdir_lib.CHECKPOINTS), cfg.keep_checkpoints)
        self.best = Checkpoints(workdir_lib.path(workdir, workdir_lib.BEST_CHECKPOINTS), 1) if has_val else None

    def after_epoch(self, state, history: list, force: bool) -> None:
        meta = {"history": history, "config": json.loads(self.cfg.to_json())}
        epoch = history[-1]["epoch"]
        if force or epoch % self.cfg.checkpoint_every == 0:
            self.latest.save(epoch, state, meta, force=True)
        if self.best is not None and selection.is_new_best(history, self.cfg.monitor):
            self.best.save(epoch, state, meta, force=True)

    def selected_state(self, state, history: list):
        """The state the run reports: the best validation epoch's, or the last one's."""
        best = selection.best_epoch(history, self.cfg.monitor) if self.best is not None else None
        if best is None or best == epoch_of(state):
            return state
        self.best.wait()
        got = self.best.restore_latest_good(abstract(state))
        return state if got is None else got[1]

    def close(self) -> None:
        self.latest.close()
        if self.best is not None:
            self.best.close()


def _printer() -> Callable:
    """print on process 0; nothing elsewhere (only process 0 prints and writes files)."""
    return print if distributed.is_main() else (lambda *a, **k: None)


def _open_workdir(workdir: str, run: inputs_lib.RunInputs, say) -> None:
    if distributed.is_main():
        workdir_lib.write_config(workdir, run.cfg)
        workdir_lib.save_vocabulary(workdir, run.data.tokenizer, run.data.target_names)
    say(model_lib.summary_table(run.spec, run.cfg.seq_len, run.keras_rows), flush=True)


def _initial_state(run: inputs_lib.RunInputs, mesh, ckpts: Checkpoints, restore_from, say):
    """(state, history): the workdir's newest good checkpoint, else --restore_from's weights with
    counters at 0, else a fresh state."""
    cfg = run.cfg
    state = place(init_state(cfg.seed, cfg.seeds, run.spec, run.tx, run.table), mesh, cfg.shard, cfg.seeds > 1)
    shapes = abstract(state)
    restored = ckpts.restore_latest_good(shapes)
    if restored is not None:
        step, state, meta = restored
        say(f"Restored checkpoint of epoch {epoch_of(state)} from {ckpts.directory}/{step}", flush=True)
        return state, list(meta.get("history", []))[: epoch_of(state)]
    damaged = workdir_lib.quarantined(os.path.dirname(ckpts.directory))
    if damaged:  # its history cannot be continued: refused on every launch until the user decides
        raise NgjaxError(f"{os.path.dirname(ckpts.directory)} cannot continue: its checkpoints are damaged "
                         f"(moved to checkpoints_corrupt/: {', '.join(damaged)}); --restart sets the run's files "
                         "aside (in attic/) and trains from epoch 1, or use a new --workdir")
    if restore_from:
        fresh = state
        state = restore_from_path(restore_from, shapes)
        # its weights and Adam state, but this run's counters and key: shuffling and dropout follow --seed
        state = state.replace(epoch=jnp.zeros_like(state.epoch), step=jnp.zeros_like(state.step), rng=fresh.rng)
        say(f"Initialised from {restore_from} (fine-tuning; epochs count from 0; shuffling and dropout from "
            f"--seed={cfg.seed})", flush=True)
    return state, []


def _place_data(ds, train_xy, mesh, shard: str):
    """({split: (x, y)} on the devices, batch sharding): ``train_xy`` (``RunInputs.train_arrays``: y
    the labels, or with a technique's rows a dict of per-row fields, and x its extra rows too), test
    and (if any) val."""
    host = {"train": train_xy, "test": (ds.x_test, ds.y_test)}
    if ds.x_val is not None:
        host["val"] = (ds.x_val, ds.y_val)
    return distributed.place_arrays(host, mesh, shard)


def _train_epochs(run, state, history, splits, programs: Programs, saves: "_Saves", workdir, stop, say):
    """Epochs from the state's to --epochs (or an early stop): train, check the loss, evaluate,
    log, checkpoint. ``history`` grows in place; returns the last state (saved)."""
    cfg = run.cfg
    start = epoch_of(state)
    if start >= cfg.epochs or (history and selection.stop_due(history, cfg.monitor, cfg.early_stopping)):
        say(f"Nothing to do: {start} epochs done, --epochs={cfg.epochs}"
            + (", stopped early" if start < cfg.epochs else "") + ". Pass a larger --epochs (or "
            "--early_stopping) to continue training.", flush=True)
        return state
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        if cfg.loop == "epoch":
            state, sums = programs.epoch(state, *splits["train"])
        else:
            state, sums = train_epoch_stepwise(state, *splits["train"], spec=run.spec, tx=run.tx,
                                               batch_size=cfg.batch_size, jit_step=programs.step)  # its loss is in the step
        row = {"epoch": epoch + 1}
        metrics.add_to_row(row, metrics.split_metrics(sums, "train"))
        _stop_if_not_finite(row, epoch, saves.latest)
        _evaluate_into(row, full_params(state), splits if cfg.test_each_epoch else _without_test(splits), programs)
        if cfg.seeds > 1:
            row["per_seed"]["seed"] = list(range(cfg.seed, cfg.seed + cfg.seeds))
        row["epoch_seconds"] = time.perf_counter() - t0
        history.append(row)
        say(metrics.epoch_line(epoch + 1, cfg.epochs, row), flush=True)
        if distributed.is_main():
            workdir_lib.append_metrics(workdir, row)
        early = selection.stop_due(history, cfg.monitor, cfg.early_stopping)
        saves.after_epoch(state, history, force=stop.signum is not None or epoch + 1 == cfg.epochs or early)
        if early:
            say(f"Early stopping: {cfg.monitor} has not improved for {cfg.early_stopping} epochs "
                f"(best: epoch {selection.best_epoch(history, cfg.monitor)})", flush=True)
        if stop.signum is not None or early:
            break
    return state


def _evaluate_into(row: dict, params, splits, programs: Programs) -> None:
    """Validation (if any) and test metrics, and the replicas' ensemble with --seeds=K."""
    for split in ("val", "test"):
        if split in splits:
            sums = programs.evaluate[split](params, *splits[split])
            if "ensemble" in sums:  # --seeds=K: the replicas and their averaged probabilities, one pass
                metrics.add_to_row(row, metrics.split_metrics(sums["ensemble"], f"{split}_ensemble"))
                sums = sums["replicas"]
            metrics.add_to_row(row, metrics.split_metrics(sums, split))


def _without_test(splits: dict) -> dict:
    return {k: v for k, v in splits.items() if k != "test"}


def _test_at_end(run, state, history: list, splits, programs: Programs, workdir: str) -> None:
    """--notest_each_epoch: the test metrics of the epoch the run reports (its selected one, else its
    last), evaluated once on ``state`` (that epoch's) and written into that epoch's row."""
    if run.cfg.test_each_epoch or not history:
        return
    row = selection.selected_row(history, run.cfg.monitor) or history[-1]
    if "test_accuracy" not in row:
        _evaluate_into(row, full_params(state), {"test": splits["test"]}, programs)
        if distributed.is_main():
            workdir_lib.write_metrics(workdir, history)


def _stop_if_not_finite(row: dict, epoch: int, ckpts: Checkpoints) -> None:
    """A NaN or Inf training loss stops the run; the epoch is not saved, the last good one stays."""
    if np.all(np.isfinite(row.get("per_seed", row)["train_loss"])):
        return
    ckpts.wait()
    last = ckpts.steps()
    if last:
        fix = (f"to go on from it at a lower rate, start a new run from its weights: --restore_from="
               f"{ckpts.directory}/{last[-1]} --learning_rate=LOWER --workdir=NEW (or start over: --restart "
               "--learning_rate=LOWER)")
    else:
        fix = "start over at a lower rate: --restart --learning_rate=LOWER (or a new --workdir)"
    raise NgjaxError(f"non-finite training loss ({row['train_loss']}) in epoch {epoch + 1}; stopped without "
                     f"saving it (last good checkpoint: {last[-1] if last else 'none'}); {fix}")


def _summary(run: inputs_lib.RunInputs, history: list, wall: float) -> dict:
    cfg = run.cfg
    extra = {}
    selected = selection.selected_row(history, cfg.monitor)
    if selected is not None:
        extra["selected"] = {"by": cfg.monitor, **selected}
    if history and cfg.early_stopping and selection.stop_due(history, cfg.monitor, cfg.early_stopping):
        extra["stopped_early"] = history[-1]["epoch"]
    return metrics.run_summary(model_lib.keras_param_counts(run.spec, run.keras_rows), history, {**extra,
        "vocab_size": run.keras_rows - 1,
        "train_examples": int(run.data.x_train.shape[0]),
        **run.unlabeled,
        "test_examples": int(run.data.x_test.shape[0]),
        "glove_coverage": run.coverage,
        "platform": inputs_lib.platform(),
        "unroll": run.spec.unroll,
        "wall_seconds": wall,
    })


def _report(workdir: str, run: inputs_lib.RunInputs, state: TrainState, history: list, say) -> None:
    if jax.process_count() > 1:
        say("Report skipped in a multi-process run: run python -m ngjax.report --workdir=W on one host",
            flush=True)
        return
    from ngjax.run.report import write_report

    first = replica(state, 0) if run.cfg.seeds > 1 else state  # confusion and samples: replica 0
    write_report(workdir, full_params(first), run.spec, run.data, history)
    say(f"Report: {workdir}/plots/curves.png, plots/confusion.png, report.txt, samples.md", flush=True)
