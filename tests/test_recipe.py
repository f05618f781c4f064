"""The best model in one command (``python -m ngjax.distill.recipe``) on a tiny corpus: the whole
recipe, a kill -9 in the student and the same command going on, the refit added later, the folder
read as its student's run, and the one-line errors of a foreign folder or teacher file."""

import json
import os
import signal
import time

import numpy as np
import pytest
from conftest import run_module, start_module

RECIPE = '''
COMMON = dict(embeddings="random", embed_dim=8, seq_len=16, batch_size=8, hidden_size=6, cell="gru",
              bidirectional=True, pool="maxmean", val_fraction=0.2, epochs=3)
TEACHER_CONFIG = dict(COMMON, embed_dropout=0.25)
TEACHERS = 2
TEACHER_OPTIONS = dict(mix_copies=1, mix_length=12, linear_weight=1 / 6)
CONFIG = dict(COMMON, pool_embeddings=True, distill_weight=0.7, distill_temperature=4.0, mixed=True,
              ema_decay=0.9, epochs=60)
'''


@pytest.fixture()
def recipe_env(tmp_path):
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "tiny_best.py").write_text(RECIPE)
    (folder / "not_a_recipe.py").write_text("CONFIG = dict(epochs=1)\n")
    return {"NGJAX_EXPERIMENTS": str(folder)}


def _args(corpus_dir, workdir, cache, *more):
    return ("--experiment=tiny_best", f"--data_dir={corpus_dir}", f"--workdir={workdir}", f"--cache_dir={cache}",
            "--seeds=2", *more)


def _saved_epochs(run):
    """The epochs of a run's finished checkpoints (Orbax renames a step's folder to its number last)."""
    folder = run / "checkpoints"
    return [n for n in os.listdir(folder) if n.isdigit()] if folder.is_dir() else []


def test_the_recipe_runs_whole_resumes_after_a_kill_and_adds_the_refit(corpus_dir, tmp_path, recipe_env):
    w, cache = tmp_path / "best", tmp_path / "cache"
    proc = start_module("ngjax.distill.recipe", *_args(corpus_dir, w, cache), env=recipe_env)
    t0 = time.time()
    while not _saved_epochs(w / "student_seeds2"):  # killed in the student, after the teachers and their file
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < 240, "the recipe did not reach the student"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    assert "[1/4] teacher 1 of 2 (seed 0)" in out and "[3/4] teacher file" in out and "[4/4] student" in out
    assert not (w / "results.json").exists(), "the recipe finished before it could be killed"
    teacher_rows = (w / "teachers" / "seed0" / "metrics.jsonl").read_text()
    sha = json.loads((w / "recipe.json").read_text())["stages"]["teacher.npz"]["sha256"]

    r = run_module("ngjax.distill.recipe", *_args(corpus_dir, w, cache), env=recipe_env)
    assert r.returncode == 0, r.stderr[-3000:]
    for line in ("[1/4] teacher 1 of 2 (seed 0): finished earlier", "[2/4] teacher 2 of 2 (seed 1): finished earlier",
                 "[3/4] teacher file: finished earlier"):
        assert line in r.stdout  # read back, not trained again
    assert "Restored checkpoint of epoch" in r.stdout  # the student resumed
    assert (w / "teachers" / "seed0" / "metrics.jsonl").read_text() == teacher_rows
    rows = [json.loads(line) for line in teacher_rows.splitlines()]  # test read once, at the reported epoch
    assert [r["epoch"] for r in rows if "test_accuracy" in r] == [json.loads(
        (w / "teachers" / "seed0" / "summary.json").read_text())["selected"]["epoch"]]
    results = json.loads((w / "results.json").read_text())
    student = results["student"]
    assert len(student["test_accuracy"]) == 2 and student["ensemble"] is not None
    assert student["mean"] == pytest.approx(np.mean(student["test_accuracy"]))
    assert len(results["launches"]) == 2 and results["launch_seconds"] > 0
    assert results["stage_seconds"] == pytest.approx(sum(s["seconds"] for s in results["stages"]))
    assert [s["stage"] for s in results["stages"]] == ["teachers/seed0", "teachers/seed1", "teacher.npz",
                                                       "student_seeds2"]
    assert json.loads((w / "recipe.json").read_text())["stages"]["teacher.npz"]["sha256"] == sha
    assert "over 2 seed(s)" in (w / "results.md").read_text()
    with np.load(w / "teacher.npz") as f:  # the recipe file's teacher options reached the teacher file
        assert len(f["mix_index"]) == len(f["labels"]) and float(f["linear_weight"]) == pytest.approx(1 / 6)
    student_cfg = json.loads((w / "student_seeds2" / "config.json").read_text())
    assert student_cfg["seeds"] == 2 and student_cfg["mixed"] and student_cfg["recurrence"] == "manual"

    # the folder is read as its student's run
    r = run_module("ngjax.predict", f"--workdir={w}", "the orbit of the shuttle launch")
    assert r.returncode == 0 and r.stdout.strip(), r.stderr[-2000:]
    import ngjax
    clf = ngjax.load_run(str(w))
    assert clf.config.teacher.endswith("teacher.npz") and clf.config.seeds == 2

    # another --seeds value: a student of its own beside the first, from the same teachers and file
    r = run_module("ngjax.distill.recipe", *_args(corpus_dir, w, cache)[:-1], "--seeds=1", env=recipe_env)
    assert r.returncode == 0 and "[3/4] teacher file: finished earlier" in r.stdout, r.stderr[-2000:]
    assert "[4/4] student (1 seed) -> " in r.stdout and (w / "student" / "summary.json").exists()
    assert json.loads((w / "final_run.json").read_text()) == {"run": "student"}
    assert len(json.loads((w / "results.json").read_text())["student"]["test_accuracy"]) == 1

    # --refit later: only the two refit stages run; the folder then stands for the refit student
    r = run_module("ngjax.distill.recipe", *_args(corpus_dir, w, cache, "--refit"), env=recipe_env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "[4/6] student (2 seeds): finished earlier" in r.stdout and "[6/6] student refit" in r.stdout
    refit = json.loads((w / "refit" / "student_seeds2" / "config.json").read_text())
    assert refit["val_fraction"] == 0 and refit["epochs"] == student["epoch"]
    with np.load(w / "refit" / "teacher.npz") as f:
        assert bool(f["whole_train"])
    assert json.loads((w / "final_run.json").read_text()) == {"run": "refit/student_seeds2"}
    assert "refit" in json.loads((w / "results.json").read_text())

    # a teacher file changed after its student finished is not read again (test below: before, refused)
    (w / "refit" / "teacher.npz").write_bytes(b"not mine")
    r = run_module("ngjax.distill.recipe", *_args(corpus_dir, w, cache, "--refit"), env=recipe_env)
    assert r.returncode == 0, r.stderr[-2000:]  # its student has finished: the file is not read again
    (w / "teacher.npz").write_bytes(b"not mine")
    r = run_module("ngjax.distill.recipe", *_args(corpus_dir, w, cache), env=recipe_env)
    assert r.returncode == 0 and "teacher file: finished earlier" in r.stdout  # its student has finished too

    # the same folder with other options is refused, one line, nothing touched
    before = (w / "recipe.json").read_text()
    r = run_module("ngjax.distill.recipe", *_args(corpus_dir, w, cache, "--teachers=3"), env=recipe_env)
    assert r.returncode == 2 and "teachers differ" in r.stderr and "new --workdir" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and (w / "recipe.json").read_text() == before


def test_a_teacher_file_changed_before_the_student_is_refused_and_a_missing_one_rewritten(corpus_dir, tmp_path,
                                                                                          recipe_env, monkeypatch):
    from ngjax.distill import recipe

    w, cache = tmp_path / "best", str(tmp_path / "cache")
    monkeypatch.setenv("NGJAX_EXPERIMENTS", recipe_env["NGJAX_EXPERIMENTS"])
    stages, state = recipe.prepare(str(w), "tiny_best", corpus_dir, 1, 1, False, False)
    assert stages[1].options["by_length"]  # the fast path reads the documents sorted by length
    reference, _ = recipe.prepare(str(tmp_path / "ref"), "tiny_best", corpus_dir, 1, 1, True, True)
    assert "by_length" not in reference[1].options and "by_length" not in reference[3].options
    assert stages[0].cfg.test_each_epoch is False
    said = []
    recipe.run_recipe(str(w), stages[:2], state, cache, "test", say=lambda *a, **k: said.append(a[0]))
    teacher_file = w / "teacher.npz"
    written = dict(np.load(teacher_file))
    teacher_file.write_bytes(teacher_file.read_bytes()[:-10])
    stages, state = recipe.prepare(str(w), "tiny_best", corpus_dir, 1, 1, False, False)
    with pytest.raises(Exception, match="not the teacher file this recipe wrote.*delete it"):
        recipe.run_recipe(str(w), stages[:2], state, cache, "test", say=lambda *a, **k: None)
    teacher_file.unlink()
    stages, state = recipe.prepare(str(w), "tiny_best", corpus_dir, 1, 1, False, False)
    said.clear()
    recipe.run_recipe(str(w), stages[:2], state, cache, "test", say=lambda *a, **k: said.append(a[0]))
    with np.load(teacher_file) as again:  # the same targets, from the finished teacher
        assert sorted(again.files) == sorted(written) and all(np.array_equal(again[k], written[k]) for k in written)
    assert any("finished earlier" in s for s in said if "teacher 1 of 1" in s)


def test_recipe_options_are_checked_before_anything_runs(corpus_dir, tmp_path, recipe_env):
    w = tmp_path / "w"
    r = run_module("ngjax.distill.recipe", "--experiment=not_a_recipe", f"--workdir={w}", env=recipe_env)
    assert r.returncode == 2 and "not a recipe (it lacks TEACHER_CONFIG, TEACHER_OPTIONS)" in r.stderr
    r = run_module("ngjax.distill.recipe", "--experiment=tiny_best", f"--workdir={w}", "--seeds=0", env=recipe_env)
    assert r.returncode == 2 and "--seeds=0: must be >= 1" in r.stderr
    r = run_module("ngjax.distill.recipe", "--experiment=tiny_best", f"--workdir={w}", "--teachers=0", env=recipe_env)
    assert r.returncode == 2 and "--teachers=0: must be >= 1" in r.stderr
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    r = run_module("ngjax.distill.recipe", "--experiment=tiny_best", f"--workdir={tmp_path / 'other'}",
                   env=recipe_env)
    assert r.returncode == 2 and "holds other files and no recipe.json" in r.stderr
    assert not w.exists() and os.listdir(tmp_path / "other") == ["notes.txt"]


def test_stage_epoch_times_a_recipe_stages_training_and_evaluations_apart(corpus_dir, tmp_path, recipe_env):
    r = run_module("experiments.bench.stage_epoch", "--experiment=tiny_best", "--stage=teacher", "--epochs=2",
                   f"--data_dir={corpus_dir}", f"--cache_dir={tmp_path / 'c'}", env=recipe_env)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [line for line in r.stdout.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 2 and all("training" in line and "val" in line and "test" in line for line in lines)
    r = run_module("experiments.bench.stage_epoch", "--experiment=tiny_best", "--stage=student",
                   f"--data_dir={corpus_dir}", f"--cache_dir={tmp_path / 'c'}", env=recipe_env)
    assert r.returncode != 0 and "teacher" in r.stderr.strip().splitlines()[-1]  # a student needs its teacher file
