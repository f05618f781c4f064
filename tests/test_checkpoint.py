"""Checkpoints: bit-exact resume after kill -9, SIGTERM, corrupt steps, refusals, continuation."""

import glob
import json
import os
import shutil
import signal
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from conftest import run_main, start_module
from ngjax.model import network as model
from ngjax.train import loop as train
from ngjax.run.checkpoint import Checkpoints
from ngjax.config import Config
from ngjax.errors import NgjaxError
from ngjax.train import state as state_lib
from ngjax.train import optim


def _args(corpus_dir, glove8, workdir, cache, epochs, extra=()):
    return [f"--data_dir={corpus_dir}", f"--glove_path={glove8}", f"--workdir={workdir}",
            f"--cache_dir={cache}", f"--epochs={epochs}", "--seq_len=20", "--batch_size=8",
            "--keep_checkpoints=2", *extra]


# the model space of a long-document run: every random draw (dropout) and every schedule must
# come back the same after a kill
BEYOND = ["--cell=gru", "--bidirectional", "--pool=max", "--dropout=0.5", "--embed_dropout=0.2",
          "--finetune_embedding", "--length_buckets=2", "--clip_norm=1", "--lr_schedule=warmup_cosine",
          "--warmup_epochs=1", "--weight_decay=0.01", "--padding=post", "--truncating=post",
          "--val_fraction=0.2"]


def _final_arrays(workdir):
    steps = sorted(int(s) for s in os.listdir(os.path.join(workdir, "checkpoints")) if s.isdigit())
    path = os.path.join(workdir, "checkpoints", str(steps[-1]), "state")
    ckptr = ocp.PyTreeCheckpointer()
    # as host arrays: a run of a bidirectional model saves from its two CPU devices (--shard=auto)
    as_numpy = jax.tree_util.tree_map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray),
                                      ckptr.metadata(path).item_metadata.tree)
    tree = ckptr.restore(path, args=ocp.args.PyTreeRestore(restore_args=as_numpy))
    return steps[-1], jax.tree_util.tree_leaves(tree)


def _rows(workdir):
    rows = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]
    for r in rows:
        r.pop("epoch_seconds")
    return rows


def _wait_rows(workdir, n, proc, limit=120):
    path = os.path.join(workdir, "metrics.jsonl")
    t0 = time.time()
    while time.time() - t0 < limit:
        if os.path.exists(path) and sum(1 for _ in open(path)) >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("training did not progress")


def _spawn(args):
    return start_module("ngjax.main", *args)


@pytest.mark.parametrize("extra", [[], BEYOND], ids=["seed", "beyond"])
def test_kill9_then_resume_equals_straight_run(corpus_dir, glove8, tmp_path, extra):
    epochs = 16
    straight, broken, cache = tmp_path / "straight", tmp_path / "broken", tmp_path / "cache"
    r = run_main(*_args(corpus_dir, glove8, straight, cache, epochs, extra))
    assert r.returncode == 0, r.stderr[-2000:]

    proc = _spawn(_args(corpus_dir, glove8, broken, cache, epochs, extra))
    _wait_rows(broken, 3, proc)
    proc.send_signal(signal.SIGKILL)  # no handler runs: a preempted machine
    proc.wait()
    n_before = sum(1 for _ in open(broken / "metrics.jsonl"))
    assert n_before < epochs, "the run finished before it could be killed"

    r = run_main(*_args(corpus_dir, glove8, broken, cache, epochs, extra))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Restored checkpoint of epoch" in r.stdout
    step_a, a = _final_arrays(straight)
    step_b, b = _final_arrays(broken)
    assert step_a == step_b == epochs
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)  # bit-exact, not allclose
    assert _rows(straight) == _rows(broken)  # whole, no duplicates, same numbers
    assert not glob.glob(str(broken / "checkpoints" / "*orbax-checkpoint-tmp*"))


def test_sigterm_saves_and_exits_resumable(corpus_dir, glove8, tmp_path):
    w = tmp_path / "w"
    proc = _spawn(_args(corpus_dir, glove8, w, tmp_path / "cache", 100000))
    _wait_rows(w, 2, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 75, err[-2000:]
    assert "interrupted by SIGTERM" in err and "Run the same command to resume" in err
    rows = [json.loads(l) for l in open(w / "metrics.jsonl")]
    steps = sorted(int(s) for s in os.listdir(w / "checkpoints") if s.isdigit())
    assert steps[-1] == rows[-1]["epoch"]  # the epoch in flight was saved


# ---------------------------------------------------------------- in-process (faster)
def _cfg(corpus_dir, glove8, **kw):
    base = dict(data_dir=corpus_dir, glove_path=glove8, seq_len=20, batch_size=8, epochs=3,
                keep_checkpoints=5)
    base.update(kw)
    return Config(**base)


def test_corrupt_latest_falls_back_to_earlier_step(corpus_dir, glove8, tmp_path, capsys):
    w, cache = str(tmp_path / "w"), str(tmp_path / "c")
    train.train_and_evaluate(_cfg(corpus_dir, glove8), w, cache)
    files = [f for f in glob.glob(os.path.join(w, "checkpoints", "3", "state", "**", "*"), recursive=True)
             if os.path.isfile(f)]
    biggest = max(files, key=os.path.getsize)
    with open(biggest, "r+b") as f:
        f.truncate(os.path.getsize(biggest) // 2)
    capsys.readouterr()
    train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=4), w, cache)
    cap = capsys.readouterr()
    assert "checkpoint step 3 is damaged" in cap.err and "Restored checkpoint of epoch 2" in cap.out
    assert [r["epoch"] for r in _rows(w)] == [1, 2, 3, 4]
    assert glob.glob(os.path.join(w, "checkpoints_corrupt", "3-*"))  # kept, not deleted


def test_all_checkpoints_corrupt_stops_without_starting_over(corpus_dir, glove8, tmp_path):
    w, cache = str(tmp_path / "w"), str(tmp_path / "c")
    train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=2), w, cache)
    for f in glob.glob(os.path.join(w, "checkpoints", "*", "state", "**", "*"), recursive=True):
        if os.path.isfile(f):
            open(f, "wb").close()
    with pytest.raises(NgjaxError, match="none of the checkpoints"):
        train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=3), w, cache)
    assert len(glob.glob(os.path.join(w, "checkpoints_corrupt", "*"))) == 2


def test_config_mismatch_is_refused_harmless_change_allowed(corpus_dir, glove8, tmp_path):
    w, cache = str(tmp_path / "w"), str(tmp_path / "c")
    train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=1), w, cache)
    with pytest.raises(NgjaxError, match=r"different config \(seq_len: saved 20, requested 21\).*new --workdir"):
        train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=1, seq_len=21), w, cache)
    with pytest.raises(NgjaxError, match="cell: saved 'lstm', requested 'rnn'"):
        train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=1, cell="rnn"), w, cache)
    s = train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=1, checkpoint_every=2), w, cache)
    assert s["epochs"] == 1


def test_finished_run_continues_with_more_epochs_and_leftover_tmp_is_cleaned(corpus_dir, glove8, tmp_path, capsys):
    w, cache = str(tmp_path / "w"), str(tmp_path / "c")
    train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=2), w, cache)
    os.makedirs(os.path.join(w, "checkpoints", "7.orbax-checkpoint-tmp-123"))
    capsys.readouterr()
    s = train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=2), w, cache)
    assert "Nothing to do" in capsys.readouterr().out and s["epochs"] == 2
    s = train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=3), w, cache)
    assert "Restored checkpoint of epoch 2" in capsys.readouterr().out
    assert s["epochs"] == 3 and [r["epoch"] for r in _rows(w)] == [1, 2, 3]
    assert not glob.glob(os.path.join(w, "checkpoints", "*tmp*"))


def test_restored_state_has_fresh_structure_and_dtypes(tmp_path):
    for trainable in (False, True):
        spec = model.ModelSpec("lstm", rows=12, embed_dim=4, hidden_size=3, num_classes=2,
                           trainable_embedding=trainable)
        tx = optim.build(1e-3)
        table = np.ones((12, 4), np.float32)
        fresh = state_lib.create_state(0, spec, tx, table)
        ck = Checkpoints(str(tmp_path / f"ck{trainable}"))
        ck.save(1, fresh, {"history": []})
        ck.wait()
        abstract = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), fresh)
        step, got, meta = ck.restore_latest_good(abstract)
        assert step == 1 and meta["history"] == []
        assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(fresh)
        for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(fresh)):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)
        ck.close()


def test_restore_from_another_run(corpus_dir, glove8, tmp_path, capsys):
    cache = str(tmp_path / "c")
    a = str(tmp_path / "a")
    train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=2), a, cache)
    capsys.readouterr()
    s = train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=1), str(tmp_path / "b"), cache,
                             restore_from=os.path.join(a, "checkpoints", "1"))
    assert "Initialised from" in capsys.readouterr().out and s["epochs"] == 1
    # the new run's shuffling (and dropout) follow its own --seed, not the source run's key
    other = train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=1, seed=5), str(tmp_path / "b5"), cache,
                                     restore_from=os.path.join(a, "checkpoints", "1"))
    again = train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=1), str(tmp_path / "b0"), cache,
                                     restore_from=os.path.join(a, "checkpoints", "1"))
    assert again["final"]["train_loss"] == s["final"]["train_loss"]  # same seed: the same run
    assert other["final"]["train_loss"] != s["final"]["train_loss"]
    with pytest.raises(NgjaxError, match="step 9 not in"):
        train.train_and_evaluate(_cfg(corpus_dir, glove8, epochs=1), str(tmp_path / "c2"), cache,
                             restore_from=os.path.join(a, "checkpoints", "9"))


def test_config_written_before_a_new_option_existed_still_resumes():
    from ngjax.run.workdir import differing_keys

    now = Config(seq_len=20)
    old = json.loads(now.to_json())
    del old["seeds"], old["shard"]  # keys a config.json from an older ngjax lacks
    assert differing_keys(old, now) == []
    assert differing_keys(old, now.replace(seeds=2)) == ["seeds"]


def test_one_data_path_spelled_relative_or_absolute_is_the_same_config(corpus_dir, glove8, tmp_path, monkeypatch):
    w, cache = str(tmp_path / "w"), str(tmp_path / "c")
    monkeypatch.chdir(os.path.dirname(corpus_dir))
    relative = os.path.basename(corpus_dir)
    train.train_and_evaluate(_cfg(relative, glove8, epochs=1), w, cache)
    s = train.train_and_evaluate(_cfg(os.path.abspath(relative), glove8, epochs=2), w, cache)  # resumes
    assert [r["epoch"] for r in _rows(w)] == [1, 2] and s["epochs"] == 2
    other = tmp_path / "copy"
    shutil.copytree(corpus_dir, other)
    with pytest.raises(NgjaxError, match="data_dir: saved"):  # another folder is another data set
        train.train_and_evaluate(_cfg(str(other), glove8, epochs=2), w, cache)
