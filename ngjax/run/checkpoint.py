"""Orbax checkpoints of the whole training state, with a fallback past corrupt steps.

Layout: ``WORKDIR/checkpoints/<epoch>/{state,meta}``: ``state`` is the TrainState pytree
(StandardSave), ``meta`` a small JSON (metrics history, fingerprint of the state). A step that
fails to restore, or whose restored arrays do not match the fingerprint written beside them,
is moved to ``WORKDIR/checkpoints_corrupt/`` (never deleted) and the step before it is used.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import shutil
import sys
import time
from typing import Any, Optional, Tuple

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging

from ngjax.errors import NgjaxError


def fingerprint(tree: Any) -> str:
    """sha256 over every leaf's dtype, shape and bytes (host copy)."""
    h = hashlib.sha256()
    from ngjax.train.devices import to_host

    for a in jax.tree_util.tree_leaves(to_host(tree)):
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


class Checkpoints:
    """A CheckpointManager over ``directory`` keeping the last ``keep`` steps."""

    def __init__(self, directory: str, keep: int = 3, read_only: bool = False):
        self.directory = os.path.abspath(directory)
        self.read_only = read_only
        if not read_only and jax.process_index() == 0:
            self._clean_tmp()
        options = ocp.CheckpointManagerOptions(
            max_to_keep=None if read_only else keep, create=not read_only, read_only=read_only,
            **({"save_interval_steps": 0} if read_only else {}))  # Orbax warns when a read-only manager has one
        self.manager = ocp.CheckpointManager(self.directory, options=options,
                                             item_names=("state", "meta"))

    def _clean_tmp(self) -> None:
        for tmp in glob.glob(os.path.join(self.directory, "*.orbax-checkpoint-tmp*")):
            logging.warning("removing an unfinished checkpoint save left by a killed run: %s", tmp)
            shutil.rmtree(tmp, ignore_errors=True)

    def steps(self) -> list:
        if not os.path.isdir(self.directory):
            return []
        self.manager.reload()
        return sorted(self.manager.all_steps())

    def save(self, step: int, state: Any, meta: dict, force: bool = False) -> None:
        meta = dict(meta, fingerprint=fingerprint(state), saved_at=time.time())
        self._room_for(state)
        with self._writing():
            self.manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                            meta=ocp.args.JsonSave(meta)), force=force)

    def wait(self) -> None:
        with self._writing():
            self.manager.wait_until_finished()

    def close(self) -> None:
        with self._writing():
            self.manager.wait_until_finished()
        self.manager.close()

    def _room_for(self, state: Any) -> None:
        """Refuse a save that cannot fit (a full disk) before Orbax starts writing it."""
        need = 2 * sum(getattr(a, "nbytes", 0) for a in jax.tree_util.tree_leaves(state)) + (1 << 20)
        try:
            free = shutil.disk_usage(self.directory).free
        except OSError:
            return
        if free < need:
            raise NgjaxError(f"no room for a checkpoint in {self.directory}: {free >> 20} MB free, about "
                             f"{need >> 20} MB needed; free some space (the run resumes from its last checkpoint) "
                             "or use another --workdir")

    @contextlib.contextmanager
    def _writing(self):
        """A failed write (a full disk, no permission) as one NgjaxError naming the folder."""
        try:
            yield
        except Exception as e:  # noqa: BLE001 - Orbax / TensorStore raise many kinds
            text = str(e)
            if isinstance(e, OSError) or "No space left" in text or "RESOURCE_EXHAUSTED" in text or \
                    "Permission denied" in text or "Read-only file system" in text:
                why = next((w for w in ("No space left on device", "Permission denied", "Read-only file system")
                            if w in text), _reason(e))
                raise NgjaxError(f"cannot write a checkpoint in {self.directory} ({why}); free some space or "
                                 "fix the folder (the run resumes from its last checkpoint), or use another "
                                 "--workdir") from None
            raise

    def restore(self, step: int, abstract_state: Any) -> Tuple[Any, dict]:
        """Restore one step and check it against its fingerprint (raises on any problem)."""
        out = self.manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()))
        state, meta = out["state"], dict(out["meta"])
        if meta.get("fingerprint") and fingerprint(state) != meta["fingerprint"]:
            raise ValueError("restored arrays do not match the fingerprint saved with them")
        return state, meta

    def restore_latest_good(self, abstract_state: Any) -> Optional[Tuple[int, Any, dict]]:
        """(step, state, meta) of the newest step that restores cleanly; None if there is none.

        Bad steps are moved aside with a warning (left in place when read-only); if steps exist
        but none is good, raises.
        """
        steps = self.steps()
        for step in reversed(steps):
            try:
                state, meta = self.restore(step, abstract_state)
                return step, state, meta
            except Exception as e:  # orbax/tensorstore raise many kinds on damaged files
                reason = _reason(e)
                logging.warning("checkpoint %s/%d cannot be restored (%s); trying the one before",
                                self.directory, step, reason)
                print(f"warning: checkpoint step {step} is damaged ({reason}); "
                      "falling back to the step before it", file=sys.stderr, flush=True)
                if not self.read_only and jax.process_index() == 0:
                    self._quarantine(step)
        if steps:
            where = "left in place" if self.read_only else "moved to checkpoints_corrupt/ untouched"
            fix = "repair them" if self.read_only else ("--restart to set the run's files aside (in attic/) and "
                                                        "train from epoch 1, a new --workdir, or repair them")
            raise NgjaxError(f"none of the checkpoints in {self.directory} (steps {steps}) can be "
                             f"restored; they were {where}. Use {fix}")
        return None

    def _quarantine(self, step: int) -> None:
        src = os.path.join(self.directory, str(step))
        dst_root = self.directory.rstrip("/") + "_corrupt"
        os.makedirs(dst_root, exist_ok=True)
        dst = os.path.join(dst_root, f"{step}-{int(time.time())}")
        if os.path.exists(src):
            shutil.move(src, dst)
        self.manager.reload()


def _reason(e: Exception) -> str:
    """One short line for why a restore failed (no object reprs such as ``<bound method ...>``)."""
    text = re.sub(r"<[^<>]*>", "...", str(e).splitlines()[0] if str(e) else "").strip(" :")
    return f"{type(e).__name__}: {text[:200]}" if text else type(e).__name__


def restore_from_path(path: str, abstract: Any) -> Any:
    """State from another run's checkpoint (``--restore_from``): PATH is a workdir, its
    checkpoints/ folder or checkpoints/N; the newest good step when no N is given."""
    path = os.path.abspath(path)
    step = None
    if os.path.basename(path).isdigit():
        step, path = int(os.path.basename(path)), os.path.dirname(path)
    if os.path.isdir(os.path.join(path, "checkpoints")):
        path = os.path.join(path, "checkpoints")
    if not os.path.isdir(path):
        raise NgjaxError(f"--restore_from={path}: no such checkpoint folder; pass a workdir, its "
                         "checkpoints/ folder, or checkpoints/<epoch>")
    ck = Checkpoints(path, read_only=True)
    try:
        if step is None:
            got = ck.restore_latest_good(abstract)
            if got is None:
                raise NgjaxError(f"--restore_from={path}: holds no checkpoint")
            return got[1]
        if step not in ck.steps():
            raise NgjaxError(f"--restore_from: step {step} not in {path} (steps: {ck.steps()})")
        return ck.restore(step, abstract)[0]
    except NgjaxError:
        raise
    except Exception as e:  # noqa: BLE001 - orbax raises many kinds on a mismatching tree
        raise NgjaxError(f"--restore_from={path}: cannot restore it into this model ({str(e)[:200]}); "
                         "the model config must match that run's") from None
