"""Bad input, as a table: each case's exit code (2 a bad flag or option, 1 bad data or state), its
one ``error:`` line (what is wrong and a fix that works), and a run folder left as it was.
Then the run folder's failure modes: damaged checkpoints, another config, a half-written
config.json, a NaN loss, read-only file systems (README: "When something goes wrong")."""

import hashlib
import json
import os
import shutil
import subprocess

import pytest

from conftest import run_main, run_module


def _snapshot(folder) -> dict:
    """Every file under ``folder`` -> sha256 of its bytes."""
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            p = os.path.join(root, name)
            with open(p, "rb") as f:
                out[os.path.relpath(p, folder)] = hashlib.sha256(f.read()).hexdigest()
    return out


def _one_error_line(r) -> str:
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in r.stderr, r.stderr[-3000:]
    return errors[0]


@pytest.fixture(scope="module")
def finished(corpus_dir, glove8, tmp_path_factory):
    """A finished one-epoch run (with a validation split) and the flags that made it."""
    root = tmp_path_factory.mktemp("finished")
    flags = [f"--data_dir={corpus_dir}", f"--glove_path={glove8}", "--seq_len=12", "--batch_size=8", "--epochs=1",
             f"--cache_dir={root / 'c'}", "--report=false", "--val_fraction=0.2"]
    r = run_main(*flags, f"--workdir={root / 'run'}")
    assert r.returncode == 0, r.stderr[-3000:]
    return root / "run", flags


def _copy(run, tmp_path, name="w"):
    dst = tmp_path / name
    shutil.copytree(run, dst)
    return dst


# (case, extra flags, expected exit code, words the error line holds); the run folder must not change
MAIN_CASES = [
    ("unknown flag", ["--foo=1"], 2, ["Unknown command line flag 'foo'"]),
    ("value of the wrong type", ["--seq_len=ten"], 2, ["--seq_len", "see --help"]),
    ("infinite learning rate", ["--learning_rate=inf"], 2, ["--learning_rate=inf", "positive (finite)"]),
    ("NaN learning rate", ["--learning_rate=nan"], 2, ["--learning_rate=nan"]),
    ("infinite clip norm", ["--clip_norm=inf"], 2, ["--clip_norm=inf"]),
    ("empty workdir", ["--workdir="], 2, ["--workdir is empty"]),
    ("empty cache_dir", ["--cache_dir="], 2, ["--cache_dir is empty"]),
    ("a manual recurrence on an unmasked model", ["--recurrence=manual"], 2, ["--recurrence=manual", "--mask_padding"]),
    ("old and new names disagree", ["--bidirectional", "--manual_backward", "--recurrence=autodiff"], 2,
     ["--manual_backward", "disagree"]),
    ("another config", ["--seq_len=13"], 1, ["different config", "seq_len: saved 12, requested 13", "--restart"]),
]


@pytest.mark.parametrize("case", [c[0] for c in MAIN_CASES])
def test_bad_flags_and_options_leave_the_run_folder_as_it_was(case, finished, tmp_path):
    _, extra, code, words = next(c for c in MAIN_CASES if c[0] == case)
    run, flags = finished
    w = _copy(run, tmp_path)
    before = _snapshot(w)
    args = [a for a in flags if not any(a.startswith(e.split("=")[0] + "=") for e in extra)]
    args = [a for a in args if not (a.startswith("--workdir=") and "--workdir=" in extra)]
    r = run_main(*args, *([] if "--workdir=" in extra else [f"--workdir={w}"]), *extra, timeout=120)
    line = _one_error_line(r)
    assert r.returncode == code, (case, r.returncode, line)
    for word in words:
        assert word in line, (case, line)
    assert _snapshot(w) == before, case


def test_a_glove_dimension_that_does_not_exist_is_not_suggested(corpus_dir, tmp_path):
    r = run_main(f"--data_dir={corpus_dir}", "--embed_dim=77", f"--workdir={tmp_path / 'w'}", timeout=120)
    line = _one_error_line(r)
    assert r.returncode == 1 and "glove.6B.77d" not in line and "50, 100, 200, 300" in line, line
    assert "--embeddings=random --embed_dim=77" in line and not (tmp_path / "w").exists()
    r = run_main(f"--data_dir={corpus_dir}", "--embed_dim=100", f"--workdir={tmp_path / 'w'}", timeout=120)
    assert r.returncode == 1 and "glove.6B.zip:glove.6B.100d.txt" in _one_error_line(r)


@pytest.mark.parametrize("content", [b"", os.urandom(4096), b"just some text\n" * 50], ids=["empty", "random", "text"])
def test_a_broken_archive_is_one_line(content, tmp_path):
    archive = tmp_path / "20news-bydate.tar.gz"
    archive.write_bytes(content)
    r = run_main(f"--data_dir={archive}", f"--workdir={tmp_path / 'w'}", f"--cache_dir={tmp_path / 'c'}", timeout=120)
    line = _one_error_line(r)
    assert r.returncode == 1 and f"--data_dir={archive}" in line and "20news-bydate.tar.gz" in line, line
    assert len([l for l in r.stderr.splitlines() if l.strip()]) == 1, r.stderr
    assert not (tmp_path / "w").exists()


def test_teacher_command_options_are_checked_first(finished, tmp_path):
    run, _ = finished
    out = tmp_path / "t.npz"
    cases = [
        ([f"--workdirs={run},{run}", f"--out={out}"], ["names one run twice"]),
        ([f"--workdirs={run},{run}/", f"--out={out}"], ["names one run twice"]),
        ([f"--workdirs={run}", f"--out={out}", "--linear_weight=2"], ["--linear_weight=2"]),
        ([f"--workdirs={run}"], ["--out"]),
        ([f"--workdirs={run}", f"--out={out}", "--mix_copies=-1"], ["--mix_copies=-1"]),
        ([f"--out={out}"], ["--workdirs"]),
    ]
    for args, words in cases:
        r = run_module("ngjax.distill.teacher", *args, timeout=120)
        line = _one_error_line(r)
        assert r.returncode == 2 and all(w in line for w in words), (args, line)
        assert not out.exists()


def test_a_text_or_binary_file_as_teacher_gets_no_pickle_advice(finished, tmp_path):
    run, flags = finished
    for name, content in (("notes.txt", b"hello\n"), ("blob.bin", os.urandom(512))):
        bad = tmp_path / name
        bad.write_bytes(content)
        r = run_main(*flags, f"--teacher={bad}", f"--workdir={tmp_path / name}-run", timeout=120)
        line = _one_error_line(r)
        assert r.returncode == 1 and "not a teacher file" in line and "pickle" not in line, line


@pytest.mark.parametrize("driver", ["experiments.ladder", "experiments.seed.table"])
def test_drivers_check_their_options_before_any_work(driver, tmp_path):
    r = run_module(driver, "--seeds=0", f"--runs_dir={tmp_path / 'runs'}", timeout=120)
    line = _one_error_line(r)
    assert r.returncode == 2 and "--seeds=0" in line, line
    assert r.stdout.strip() == "" and not (tmp_path / "runs").exists()


def test_damaged_checkpoints_are_refused_on_every_launch_until_restart(finished, tmp_path):
    run, flags = finished
    w = _copy(run, tmp_path)
    history = (w / "metrics.jsonl").read_text()
    for step in os.listdir(w / "checkpoints"):  # every checkpoint damaged
        for root, _, names in os.walk(w / "checkpoints" / step / "state"):
            for name in names:
                with open(os.path.join(root, name), "wb") as f:
                    f.write(b"\0" * 16)
    first = run_main(*flags, f"--workdir={w}", timeout=120)
    assert first.returncode == 1 and "--restart" in _one_error_line(first)
    assert "<bound method" not in first.stderr and "warning: checkpoint step 1 is damaged" in first.stderr
    for _ in range(2):  # refused again, and again: the history stays
        again = run_main(*flags, f"--workdir={w}", timeout=120)
        line = _one_error_line(again)
        assert again.returncode == 1 and "cannot continue" in line and "--restart" in line, line
        assert (w / "metrics.jsonl").read_text() == history
    restarted = run_main(*flags, f"--workdir={w}", "--restart", timeout=300)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    (aside,) = os.listdir(w / "attic")
    assert (w / "attic" / aside / "metrics.jsonl").read_text() == history  # nothing lost
    assert (w / "attic" / aside / "checkpoints_corrupt").is_dir()
    assert [json.loads(l)["epoch"] for l in (w / "metrics.jsonl").read_text().splitlines()] == [1]


def test_a_half_written_config_is_refused_and_restart_sets_it_aside(finished, tmp_path):
    run, flags = finished
    w = _copy(run, tmp_path)
    text = (w / "config.json").read_text()
    (w / "config.json").write_text(text[: len(text) // 2])
    before = _snapshot(w)
    r = run_main(*flags, f"--workdir={w}", timeout=120)
    line = _one_error_line(r)
    assert r.returncode == 1 and "unreadable" in line and "--restart" in line and _snapshot(w) == before
    r = run_main(*flags, f"--workdir={w}", "--restart", timeout=300)
    assert r.returncode == 0 and len(os.listdir(w / "attic")) == 1, r.stderr[-3000:]


def test_a_nan_loss_stops_with_advice_that_works(corpus_dir, glove8, tmp_path):
    flags = [f"--data_dir={corpus_dir}", f"--glove_path={glove8}", "--seq_len=12", "--batch_size=8",
             f"--cache_dir={tmp_path / 'c'}", "--report=false", f"--workdir={tmp_path / 'w'}"]
    r = run_main(*flags, "--epochs=2", timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_main(*flags, "--epochs=3", "--learning_rate=1e38", timeout=300)  # a different config: refused
    assert r.returncode == 1 and "--restart" in _one_error_line(r)
    # the advice of a NaN stop: start a new run from the last good checkpoint at a lower rate
    flags[-1] = f"--workdir={tmp_path / 'hot'}"
    r = run_main(*flags, "--epochs=2", "--learning_rate=1e38", f"--restore_from={tmp_path / 'w'}", timeout=300)
    line = _one_error_line(r)
    assert r.returncode == 1 and "non-finite training loss" in line and "--restart --learning_rate=LOWER" in line
    r = run_main(*flags, "--epochs=1", "--learning_rate=1e-3", "--restart", f"--restore_from={tmp_path / 'w'}",
                 timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]


def _read_only_mount(path) -> bool:
    """Mount a read-only tmpfs at ``path`` (needs root); False when this machine does not allow it."""
    os.makedirs(path, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def _read_only_copy(src, path) -> bool:
    """A read-only bind mount of a copy of ``src`` at ``path``."""
    shutil.copytree(src, str(path) + "-src")
    os.makedirs(path)
    ok = subprocess.run(["mount", "--bind", str(path) + "-src", str(path)], capture_output=True).returncode == 0
    return ok and subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], capture_output=True).returncode == 0


def test_read_only_file_systems_get_one_line(finished, tmp_path):
    if not _read_only_mount(tmp_path / "ro"):
        pytest.skip("mounting a read-only file system needs root (mount -t tmpfs -o ro); not here")
    run, flags = finished
    try:
        new = run_main(*flags, f"--workdir={tmp_path / 'ro' / 'new'}", timeout=120)
        line = _one_error_line(new)
        assert new.returncode == 1 and "Read-only file system" in line and str(tmp_path / "ro") in line, line
        cache = [f for f in flags if not f.startswith("--cache_dir=")]
        cached = run_main(*cache, f"--cache_dir={tmp_path / 'ro' / 'cache'}", f"--workdir={tmp_path / 'w'}",
                          timeout=300)  # a cache that cannot be written: a warning, and the run goes on
        assert cached.returncode == 0 and "cache not written" in cached.stderr, cached.stderr[-3000:]
        assert _read_only_copy(run, tmp_path / "rorun")
        before = _snapshot(tmp_path / "rorun")
        old = run_main(*flags, "--epochs=2", f"--workdir={tmp_path / 'rorun'}", timeout=120)
        line = _one_error_line(old)
        assert old.returncode == 1 and "Read-only file system" in line and _snapshot(tmp_path / "rorun") == before
    finally:
        for mount in (tmp_path / "ro", tmp_path / "rorun"):
            subprocess.run(["umount", str(mount)], capture_output=True)


def test_files_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from ngjax import files

    target = tmp_path / "summary.json"
    files.write_json(str(target), {"a": 1})

    def full(*_):
        raise OSError(28, "No space left on device", str(target) + ".tmp")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError):
        files.write_json(str(target), {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}  # the old version, whole
    assert os.listdir(tmp_path) == ["summary.json"]  # no temporary file left behind
    from ngjax.errors import describe_os_error

    line = describe_os_error(OSError(28, "No space left on device", "/data/run/config.json"))
    assert line.startswith("cannot use /data/run/config.json: No space left on device; the disk is full")


def test_a_metrics_file_cut_mid_line_reads_up_to_the_cut(tmp_path):
    from ngjax import files

    path = tmp_path / "metrics.jsonl"
    path.write_text('{"epoch": 1}\n{"epoch": 2}\n{"epo')  # killed while appending epoch 3
    assert files.read_jsonl(str(path)) == [{"epoch": 1}, {"epoch": 2}]
    path.write_text('{"epoch": 1}\nnot json\n{"epoch": 3}\n')  # damage inside: an error, not a silent skip
    with pytest.raises(ValueError):
        files.read_jsonl(str(path))


def test_a_full_disk_is_one_line_before_a_checkpoint_is_half_written(corpus_dir, glove8, tmp_path):
    full = tmp_path / "full"
    os.makedirs(full)
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(full)],
                                           capture_output=True).returncode:
        pytest.skip("mounting a small file system needs root (mount -t tmpfs -o size=512k); not here")
    try:
        r = run_main(f"--data_dir={corpus_dir}", f"--glove_path={glove8}", "--seq_len=12", "--batch_size=8",
                     "--epochs=1", f"--cache_dir={tmp_path / 'c'}", "--report=false", f"--workdir={full / 'w'}",
                     timeout=300)
        line = _one_error_line(r)
        assert r.returncode == 1 and "no room for a checkpoint" in line and str(full / "w") in line, line
        assert not [n for n in os.listdir(full / "w" / "checkpoints") if n.isdigit()]  # nothing half-written
    finally:
        subprocess.run(["umount", str(full)], capture_output=True)
