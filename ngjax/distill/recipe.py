"""The best model in one command: the teachers, their teacher file and the distilled student (with
``--refit`` also the student trained again on train + validation), in one folder that
``ngjax.predict``, ``ngjax.report`` and ``ngjax.load_run`` read as the student's run.

    python -m ngjax.distill.recipe --data_dir=../shared/data/20news-bydate.tar.gz --workdir=runs/best
    python -m ngjax.predict --workdir=runs/best "The shuttle launch was delayed by a faulty valve."

The recipe is a file found like an ``--experiment`` (default ``best``: experiments/ladder/best.py)
that defines ``TEACHER_CONFIG`` (the teachers' options), ``TEACHERS`` (how many seeds of it),
``TEACHER_OPTIONS`` (``ngjax.distill.teacher``'s options) and ``CONFIG`` (the student's). The fast
implementations are used (``--recurrence=auto --shard=auto``) unless ``--reference`` keeps the
file's own pins (those its committed numbers were made with).

The folder: ``teachers/seed<k>/`` (runs), ``teacher.npz``, ``student/`` (a run; ``--seeds=K``
trains K replicas in one program, in ``student_seedsK/``: the same folder with another --seeds
value reuses the teachers and their file), with ``--refit`` ``refit/teacher.npz`` and ``refit/student*/``;
``recipe.json`` (the options and each finished stage's time), ``final_run.json`` (which run the
folder stands for), ``results.md`` / ``results.json``. Kill it anywhere and run the same command:
finished stages are read back, a half-trained run resumes from its checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import List, Optional

from ngjax import files
from ngjax.config import Config, ConfigError, validate
from ngjax.errors import NgjaxError

RECIPE_FILE = "recipe.json"
FAST = dict(recurrence="auto", shard="auto")


class Stage:
    """One step of the recipe: a run (``cfg`` trained in ``folder``) or a teacher file (``out``)."""

    def __init__(self, key: str, title: str, cfg: Optional[Config] = None, out: Optional[str] = None,
                 teachers: Optional[List[str]] = None, options: Optional[dict] = None, reader: str = "",
                 epochs_from: str = ""):
        self.key, self.title, self.cfg, self.out, self.teachers, self.options = key, title, cfg, out, teachers, options
        self.reader = reader  # a teacher file's: the student stage that reads it
        self.epochs_from = epochs_from  # a refit's: the student stage whose chosen epoch it trains for


def recipe_configs(name: str, data_dir: Optional[str], teachers: Optional[int], reference: bool) -> dict:
    """The recipe file ``name``'s teacher and student configurations (as dicts of Config fields), the
    teacher file's options and the number of teachers."""
    from ngjax import variants

    module = variants.module(name)
    missing = [a for a in ("TEACHER_CONFIG", "TEACHER_OPTIONS", "CONFIG") if not hasattr(module, a)]
    if missing:
        raise ConfigError(f"--experiment={name}: not a recipe (it lacks {', '.join(missing)}); a recipe file "
                          "defines TEACHER_CONFIG, TEACHERS, TEACHER_OPTIONS and CONFIG, as experiments/ladder/best.py")
    count = int(teachers if teachers is not None else getattr(module, "TEACHERS", 5))
    if count < 1:
        raise ConfigError(f"--teachers={count}: must be >= 1")
    speed = {} if reference else FAST
    teacher = dict(module.TEACHER_CONFIG, data_dir=data_dir, **speed)
    student = dict(module.CONFIG, data_dir=data_dir, **speed)
    return {"teacher": teacher, "student": student, "teacher_options": dict(module.TEACHER_OPTIONS),
            "teachers": count}


def plan(workdir: str, recipe: dict, name: str, seeds: int, refit: bool, reference: bool = False) -> List[Stage]:
    """The stages, in order (the refit's student is completed once the student has chosen its epochs).
    Unless ``reference``, the teachers read the teacher files' documents sorted by length."""
    reading = dict(recipe["teacher_options"], **({} if reference else {"by_length": True}))
    teacher_dirs = [os.path.join(workdir, "teachers", f"seed{k}") for k in range(recipe["teachers"])]
    stages = [Stage(f"teachers/seed{k}", f"teacher {k + 1} of {len(teacher_dirs)} (seed {k})",
                    _config(recipe["teacher"], name, seed=k)) for k in range(len(teacher_dirs))]
    student = student_folder(seeds)
    out = os.path.join(workdir, "teacher.npz")
    stages.append(Stage("teacher.npz", "teacher file", out=out, teachers=teacher_dirs,
                        options=reading, reader=student))
    stages.append(Stage(student, f"student ({seeds} seed{'s' * (seeds > 1)})",
                        _config(recipe["student"], name, teacher=out, seeds=seeds)))
    if refit:
        out = os.path.join(workdir, "refit", "teacher.npz")
        stages.append(Stage("refit/teacher.npz", "teacher file for the refit (every training document)", out=out,
                            teachers=teacher_dirs, options=dict(reading, whole_train=True),
                            reader=f"refit/{student}"))
        stages.append(Stage(f"refit/{student}", "student refit on train + validation",
                            _config(recipe["student"], name, teacher=out, seeds=seeds, val_fraction=0.0,
                                    early_stopping=0), epochs_from=student))
    return stages


def student_folder(seeds: int) -> str:
    """The student's folder: one per --seeds value, beside the teachers they share."""
    return "student" if seeds == 1 else f"student_seeds{seeds}"


def _config(values: dict, name: str, **more) -> Config:
    """A stage's run: test selects nothing, so each run reads test once, at its reported epoch."""
    return validate(Config.from_dict(dict(values, experiment=name, test_each_epoch=False, **more)))


def check_folder(workdir: str, identity: dict) -> dict:
    """The folder's recipe.json (a new one for a new folder); ConfigError when it holds another recipe."""
    path = os.path.join(workdir, RECIPE_FILE)
    if not os.path.exists(path):
        if os.path.isdir(workdir) and os.listdir(workdir):
            raise ConfigError(f"--workdir={workdir} holds other files and no {RECIPE_FILE}; give a new or empty "
                              "folder for the recipe")
        return {"identity": identity, "stages": {}, "launches": []}
    try:
        state = files.read_json(path)
        saved = state["identity"]
    except (ValueError, KeyError, TypeError, OSError) as e:
        raise NgjaxError(f"{path}: unreadable ({e}); move the folder aside and run the recipe in a new --workdir")
    if saved != identity:
        keys = sorted(k for k in set(saved) | set(identity) if saved.get(k) != identity.get(k))
        raise ConfigError(f"--workdir={workdir} holds a recipe with other options or another recipe file "
                          f"({', '.join(keys)} differ); run it with its own options to resume it, or use a new "
                          "--workdir")
    return state


def prepare(workdir: str, name: str, data_dir: Optional[str], teachers: Optional[int], seeds: int, refit: bool,
            reference: bool):
    """(stages, recipe.json's state) after every check that needs no training (ConfigError/NgjaxError)."""
    if seeds < 1:
        raise ConfigError(f"--seeds={seeds}: must be >= 1 (the student's replicas)")
    recipe = recipe_configs(name, data_dir, teachers, reference)
    identity = {"experiment": name, "reference": reference,
                "data_dir": os.path.realpath(data_dir) if data_dir else None, **json.loads(json.dumps(recipe))}
    state = check_folder(workdir, identity)
    return plan(workdir, recipe, name, seeds, refit, reference), state


def run_recipe(workdir: str, stages: List[Stage], state: dict, cache_dir: Optional[str], command: str,
               out: Optional[str] = None, say=print) -> dict:
    """Run (or resume) every stage; write results.md / results.json; return the results."""
    os.makedirs(workdir, exist_ok=True)
    launch = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": command}
    state["launches"].append(launch)
    _save(workdir, state)
    t0 = time.perf_counter()
    for i, stage in enumerate(stages, 1):
        head = f"[{i}/{len(stages)}] {stage.title}"
        if _done(workdir, stage, state):
            say(f"{head}: finished earlier ({_minutes(state['stages'][stage.key]['seconds'])}), read back", flush=True)
            continue
        say(f"{head} -> {os.path.join(workdir, stage.key)} (elapsed {_minutes(time.perf_counter() - t0)}"
            f"{_left(stages[i - 1:], state)})", flush=True)
        started = time.perf_counter()
        done = _run_stage(workdir, stage, cache_dir)
        seconds = time.perf_counter() - started
        state["stages"][stage.key] = dict(done, seconds=seconds)
        launch["seconds"] = time.perf_counter() - t0
        _save(workdir, state)
        say(f"{head}: done in {_minutes(seconds)}" + (f", test accuracy {done['test_accuracy']:.4f}"
                                                    if "test_accuracy" in done else ""), flush=True)
    files.write_json(os.path.join(workdir, "final_run.json"), {"run": [s for s in stages if s.cfg][-1].key})
    from ngjax.distill import recipe_results

    launch["seconds"] = time.perf_counter() - t0
    _save(workdir, state)
    results = recipe_results.collect(workdir, stages, state, command)
    recipe_results.write(workdir, results, out)
    say(recipe_results.markdown(results), flush=True)
    return results


def _run_stage(workdir: str, stage: Stage, cache_dir: Optional[str]) -> dict:
    if stage.cfg is None:
        from ngjax.distill import teacher

        made = teacher.write_file(stage.teachers, stage.out, cache_dir, **stage.options)
        return {"sha256": _sha256(stage.out), **made}
    from ngjax.train import loop

    folder = os.path.join(workdir, stage.key)
    summary = loop.train_and_evaluate(_stage_config(workdir, stage), folder, cache_dir,
                                      report=not stage.key.startswith("teachers/"))
    return _run_record(summary)


def _run_record(summary: dict) -> dict:
    row = summary.get("selected") or summary.get("final") or {}
    return {"epochs": summary.get("epochs"), "test_accuracy": row.get("test_accuracy")}


def _stage_config(workdir: str, stage: Stage) -> Config:
    """A run stage's Config; the refit's takes the epochs the student chose on validation."""
    if stage.epochs_from:
        return stage.cfg.replace(epochs=_selected_epoch(os.path.join(workdir, stage.epochs_from)))
    return stage.cfg


def _done(workdir: str, stage: Stage, state: dict) -> bool:
    """Whether the stage finished in an earlier launch (its run folder finished, its file unchanged)."""
    from ngjax.run.workdir import finished

    record = state["stages"].get(stage.key)
    if stage.cfg is not None:
        folder = os.path.join(workdir, stage.key)
        if not finished(_stage_config(workdir, stage), folder):
            return False
        if not record:  # killed after the run finished, before recipe.json said so
            summary = files.read_json(os.path.join(folder, "summary.json"))
            state["stages"][stage.key] = dict(_run_record(summary), seconds=summary.get("wall_seconds", 0.0))
        return True
    if not record:
        return False
    if stage.reader in state["stages"]:
        return True  # the student that read it has finished: the file is not read again
    if not os.path.exists(stage.out):
        del state["stages"][stage.key]
        return False  # written again from the finished teachers
    if _sha256(stage.out) != record["sha256"]:
        raise NgjaxError(f"{stage.out} is not the teacher file this recipe wrote (changed since); delete it and run "
                         "the same command to write it again from the finished teachers")
    return True


def _selected_epoch(student_dir: str) -> int:
    summary = files.read_json(os.path.join(student_dir, "summary.json"))
    selected = summary.get("selected") or summary.get("final")
    return int(selected["epoch"])


def _left(stages: List[Stage], state: dict) -> str:
    """', about N min left' from the finished stages' times (teachers by the teachers' mean), or ''."""
    times = [r["seconds"] for k, r in state["stages"].items() if k.startswith("teachers/")]
    runs = [s for s in stages if s.key.startswith("teachers/")]
    if not times or not runs:
        return ""
    left = len(runs) * sum(times) / len(times)
    others = [s.title for s in stages if s.cfg is not None and not s.key.startswith("teachers/")]
    return f"; about {_minutes(left)} left for the teachers" + (f", then the {others[0]}" if others else "")


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def _sha256(path: str) -> str:
    with open(path, "rb") as f:  # a teacher file: a few MB
        return hashlib.sha256(f.read()).hexdigest()


def _save(workdir: str, state: dict) -> None:
    files.write_json(os.path.join(workdir, RECIPE_FILE), state)


def main(argv) -> int:
    import sys

    from absl import flags

    from ngjax import cli

    FLAGS = flags.FLAGS
    if len(argv) > 1:
        raise ConfigError(f"unexpected arguments {argv[1:]}; all options are --flags (see --help)")
    workdir = cli.folder_flag("workdir", FLAGS.workdir)
    cli.folder_flag("cache_dir", FLAGS.cache_dir)
    stages, state = prepare(workdir, FLAGS.experiment, FLAGS.data_dir, FLAGS.teachers, FLAGS.seeds, FLAGS.refit,
                            FLAGS.reference)
    from ngjax.train import devices, fastest  # imports jax: after the options are known good

    cpu = FLAGS.cpu_devices
    devices.set_cpu_devices(fastest.cpu_devices(stages[0].cfg) if cpu is None else cpu)
    command = f"python -m ngjax.distill.recipe {' '.join(sys.argv[1:])}".rstrip()
    run_recipe(workdir, stages, state, FLAGS.cache_dir, command, FLAGS.out)
    return 0


def _define_flags() -> None:
    from absl import flags

    flags.DEFINE_string("experiment", "best", "The recipe file (found as --experiment variants are): "
                        "TEACHER_CONFIG, TEACHERS, TEACHER_OPTIONS, CONFIG.")
    flags.DEFINE_string("workdir", os.path.join("runs", "best"), "The recipe's folder (the same command resumes it).")
    flags.DEFINE_string("data_dir", None, "20news-bydate.tar.gz or its folder (default: scikit-learn's download).")
    flags.DEFINE_string("cache_dir", None, "Token cache (default $NGJAX_CACHE or ~/.cache/ngjax).")
    flags.DEFINE_integer("teachers", None, "Teacher runs (seeds 0..N-1; default: the recipe file's TEACHERS).")
    flags.DEFINE_integer("seeds", 1, "The student's replicas, trained in one program (seeds 0..K-1): K > 1 "
                         "reports their mean ± std and their ensemble.")
    flags.DEFINE_bool("refit", False, "Then train the student again on train + validation for the epochs it "
                      "chose on validation (can be added to a finished recipe).")
    flags.DEFINE_bool("reference", False, "Keep the recipe file's implementation pins (the reference path its "
                      "committed numbers were made with) instead of the fastest implementations.")
    flags.DEFINE_integer("cpu_devices", None, "On CPU: JAX devices (default: 2 for a bidirectional teacher on two "
                         "or more cores, see ngjax.train.fastest).")
    flags.DEFINE_string("out", None, "Also write the results to OUT.md / OUT.json.")


if __name__ == "__main__":
    from ngjax import cli

    _define_flags()
    cli.run(main)
