"""--seeds=K: K replicas in one vmapped program; a replica equals the single run of its seed."""

import json
import os

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from ngjax.train import loop as train
from ngjax.config import Config, ConfigError, validate


def _leaves(workdir, step):
    tree = ocp.PyTreeCheckpointer().restore(os.path.join(workdir, "checkpoints", str(step), "state"))
    return tree


def test_replica_equals_single_run_and_resume_works(corpus_dir, glove8, tmp_path):
    cache = str(tmp_path / "c")
    base = dict(data_dir=corpus_dir, glove_path=glove8, seq_len=20, batch_size=8, epochs=2)
    many, single = str(tmp_path / "many"), str(tmp_path / "single")
    s = train.train_and_evaluate(Config(seed=5, seeds=3, **base), many, cache, report=False)
    train.train_and_evaluate(Config(seed=6, **base), single, cache, report=False)
    a, b = _leaves(many, 2), _leaves(single, 2)
    pa, pb = a["params"], b["params"]
    for x, y in zip(jax.tree_util.tree_leaves(pa), jax.tree_util.tree_leaves(pb)):
        assert x.shape[1:] == y.shape and x.shape[0] == 3
        np.testing.assert_allclose(x[1], y, rtol=2e-5, atol=1e-6)  # replica 1 = seed 6
    assert not np.allclose(pa["lstm"]["kernel"][0], pa["lstm"]["kernel"][1])  # replicas differ
    rows = [json.loads(l) for l in open(os.path.join(many, "metrics.jsonl"))]
    ref = [json.loads(l) for l in open(os.path.join(single, "metrics.jsonl"))]
    for r, q in zip(rows, ref):
        assert r["per_seed"]["seed"] == [5, 6, 7]
        assert r["per_seed"]["test_accuracy"][1] == pytest.approx(q["test_accuracy"], abs=1e-9)
        assert r["per_seed"]["train_loss"][1] == pytest.approx(q["train_loss"], rel=1e-5)
        assert r["test_accuracy"] == pytest.approx(np.mean(r["per_seed"]["test_accuracy"]))
    assert s["seeds"]["test_accuracy"]["min"] <= s["seeds"]["test_accuracy"]["mean"] <= s["seeds"]["test_accuracy"]["max"]
    # resume a K-seed run: continues to 3 epochs, history whole
    s3 = train.train_and_evaluate(Config(seed=5, seeds=3, **dict(base, epochs=3)), many, cache, report=False)
    assert s3["epochs"] == 3
    assert [json.loads(l)["epoch"] for l in open(os.path.join(many, "metrics.jsonl"))] == [1, 2, 3]


def test_seeds_flag_validation():
    with pytest.raises(ConfigError, match="--seeds=0: must be a positive integer"):
        validate(Config(seeds=0))
    with pytest.raises(ConfigError, match="--loop=step runs one replica"):
        validate(Config(seeds=2, loop="step"))


def test_seed_table_driver_writes_rows_and_resumes(corpus_dir, glove8, tmp_path):
    from conftest import run_module

    out, runs = str(tmp_path / "res" / "table"), str(tmp_path / "runs")
    args = [f"--data_dir={corpus_dir}",
            f"--glove_path={glove8}", "--epochs=2", "--seeds=2", f"--runs_dir={runs}",
            f"--cache_dir={tmp_path / 'c'}", f"--out={out}", "--variants=seed_lstm,seed_rnn", "--workers=1"]
    r = run_module("experiments.seed.table", *args, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    md = open(out + ".md").read()
    assert "1. LSTM, seq 30, GloVe frozen" in md and "2. SimpleRNN, seq 30" in md
    assert "0.4859" in md and "0.2546" in md and "experiments.seed.table" in md  # seed numbers, command
    data = json.load(open(out + ".json"))
    assert [row["name"] for row in data["rows"]] == ["seed_lstm", "seed_rnn"]
    assert all(row["seeds"] == 2 and row["epochs"] == 2 and row["glove_dim"] == 8 for row in data["rows"])
    assert os.path.getsize(out + ".png") > 0
    before = os.path.getmtime(os.path.join(runs, "seed_lstm", "checkpoints", "2"))
    r = run_module("experiments.seed.table", *args, timeout=600)
    assert r.returncode == 0 and r.stdout.count("read back") == 2  # finished variants not rerun
    assert os.path.getmtime(os.path.join(runs, "seed_lstm", "checkpoints", "2")) == before

    # the same table with both variants trained at once in two worker processes: same numbers,
    # each variant's output in its train.log, and a finished table is not retrained
    out2, runs2 = str(tmp_path / "res" / "table2"), str(tmp_path / "runs2")
    args2 = [a for a in args if not a.startswith(("--out=", "--runs_dir=", "--workers="))] + [
        f"--out={out2}", f"--runs_dir={runs2}", "--workers=2"]
    r = run_module("experiments.seed.table", *args2, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    par = json.load(open(out2 + ".json"))
    assert par["workers"] == 2 and data["workers"] == 1
    assert [row["name"] for row in par["rows"]] == ["seed_lstm", "seed_rnn"]
    for a, b in zip(data["rows"], par["rows"]):
        assert a["curve_mean"] == pytest.approx(b["curve_mean"], abs=1e-9)
    for name in ("seed_lstm", "seed_rnn"):
        log = open(os.path.join(runs2, name, "train.log")).read()
        assert "Total params" in log and "epoch 2/2" in log.lower(), log[-2000:]
    r = run_module("experiments.seed.table", *args2, timeout=600)
    assert r.returncode == 0 and r.stdout.count("read back") == 2 and "done" not in r.stdout
    # a variant stopped short of --epochs is resumed, not read back
    from ngjax.run.workdir import finished
    w = os.path.join(runs2, "seed_rnn")
    cfg = Config.from_saved(json.load(open(os.path.join(w, "config.json"))))
    assert finished(cfg, w) and not finished(cfg.replace(epochs=3), w)
    assert not finished(cfg.replace(hidden_size=7), w)  # another config: the run itself says why


def test_seed_table_workers_flag():
    from experiments.drivers import resolve_workers
    from ngjax.errors import NgjaxError

    assert resolve_workers("3", 5) == 3 and resolve_workers("8", 2) == 2  # never more than variants
    assert 1 <= resolve_workers("auto", 5) <= 5
    for bad in ("0", "-1", "two"):
        with pytest.raises(NgjaxError, match="--workers"):
            resolve_workers(bad, 5)


def test_keras_reference_driver_and_the_seed_tables_keras_column(corpus_dir, glove8, tmp_path):
    """experiments.seed.keras_reference trains the variants in Keras 3 and the seed table shows them."""
    from conftest import run_module
    from experiments.seed.table import read_keras_reference, table

    pytest.importorskip("keras")
    out = str(tmp_path / "keras_ref")
    args = [f"--data_dir={corpus_dir}",
            f"--glove_path={glove8}", "--epochs=2", "--seeds=2", f"--runs_dir={tmp_path / 'kruns'}",
            f"--cache_dir={tmp_path / 'c'}", f"--out={out}", "--variants=seed_rnn"]
    r = run_module("experiments.seed.keras_reference", *args, env={"KERAS_BACKEND": "jax"}, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    ref = read_keras_reference(out + ".json")
    row = ref["seed_rnn"]
    assert row["seeds"] == 2 and len(row["test_accuracy"]) == 2 and row["embed_dim"] == 8
    assert row["mean"] == pytest.approx(sum(row["test_accuracy"]) / 2)
    assert os.path.exists(tmp_path / "kruns" / "seed_rnn" / "seed1.json")
    r = run_module("experiments.seed.keras_reference", *args, env={"KERAS_BACKEND": "jax"}, timeout=600)
    assert r.returncode == 0 and "=== keras" not in r.stdout  # finished runs are read back
    base = {"name": "seed_rnn", "label": "2. SimpleRNN, seq 30", "seed_reported": 0.2546, "mean": 0.3,
            "std": 0.01, "min": 0.29, "max": 0.31, "seeds": 5, "epochs": 2, "glove_dim": 8,
            "train_seconds": 1.0}
    md = table([dict(base, keras=dict(row, epochs=2))])
    assert f"{row['mean']:.4f} ± {row['std']:.4f} (2 runs)" in md
    assert "not comparable" in table([dict(base, keras=dict(row, epochs=50))])
    assert "not run" in table([base])
