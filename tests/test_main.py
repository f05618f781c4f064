"""The CLI: flag validation, experiments, and a tiny end-to-end run in a subprocess."""

import json
import os

import pytest

from conftest import ALL_WORDS, run_main, write_glove


@pytest.mark.parametrize("args,needle", [
    (["--cell=gru"], "--cell='gru': allowed values are lstm, rnn"),
    (["--seq_len=0"], "--seq_len=0: must be a positive integer"),
    (["--batch_size=-3"], "--batch_size=-3: must be a positive integer"),
    (["--embeddings=word2vec"], "--embeddings='word2vec': allowed values are glove, random"),
    (["--val_fraction=1.5"], "--val_fraction=1.5: must be in [0, 1)"),
    (["--remove=headers,signature"], "unknown part(s) ['signature']"),
    (["--experiment=nope"], "--experiment=nope: unknown; available: seed_dim200, seed_lstm"),
])
def test_bad_flags_get_one_line_and_exit_2(args, needle):
    r = run_main(*args, timeout=60)
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_tiny_run_writes_config_metrics_summary(corpus_dir, glove8, tmp_path):
    w = str(tmp_path / "run")
    r = run_main(f"--data_dir={corpus_dir}", f"--glove_path={glove8}", "--epochs=2", "--seq_len=20",
                 f"--workdir={w}", f"--cache_dir={tmp_path / 'cache'}", "--cell=rnn")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Epoch 1/2" in r.stdout and "Epoch 2/2" in r.stdout and "test_accuracy" in r.stdout
    assert "Total params" in r.stdout and "SimpleRNN" in r.stdout  # Keras-like summary
    cfg = json.load(open(os.path.join(w, "config.json")))
    assert cfg["cell"] == "rnn" and cfg["embed_dim"] == 8 and cfg["seq_len"] == 20
    rows = [json.loads(l) for l in open(os.path.join(w, "metrics.jsonl"))]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert set(rows[0]) == {"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                            "epoch_seconds"}
    s = json.load(open(os.path.join(w, "summary.json")))
    assert set(s["params"]) >= {"embedding", "recurrent", "dense", "total", "trainable"}
    assert s["params"]["recurrent"] == 30 * (8 + 30) + 30
    assert s["params"]["dense"] == 30 * 3 + 3
    assert s["final"] == rows[-1]


def test_experiment_dim200_with_a_synthetic_200d_file(corpus_dir, tmp_path):
    g200 = write_glove(str(tmp_path / "glove.200d.txt"), ALL_WORDS, 200)
    w = str(tmp_path / "dim200")
    r = run_main("--experiment=seed_dim200", f"--data_dir={corpus_dir}", f"--glove_path={g200}",
                 "--epochs=1", f"--workdir={w}", f"--cache_dir={tmp_path / 'cache'}", "--val_fraction=0.2")
    assert r.returncode == 0, r.stderr[-2000:]
    cfg = json.load(open(os.path.join(w, "config.json")))
    assert cfg["experiment"] == "seed_dim200" and cfg["embed_dim"] == 200 and cfg["seq_len"] == 30
    row = json.loads(open(os.path.join(w, "metrics.jsonl")).readline())
    assert "val_loss" in row and "val_accuracy" in row
    s = json.load(open(os.path.join(w, "summary.json")))
    assert s["params"]["recurrent"] == 4 * (30 * (200 + 30) + 30)


def test_input_errors_are_one_line(corpus_dir, glove8, tmp_path):
    bad_glove = tmp_path / "bad.txt"
    bad_glove.write_text("a 1 2\nb 1\n")
    cases = [
        (["--experiment=seed_dim200", f"--data_dir={corpus_dir}"], "needs a 200-d GloVe file"),
        ([f"--data_dir={tmp_path / 'missing'}"], "no such file or folder"),
        ([f"--data_dir={corpus_dir}", f"--glove_path={bad_glove}"], "line 2 ('b') has 1 values"),
        ([f"--data_dir={corpus_dir}", f"--glove_path={glove8}", "--embed_dim=50"],
         "--embed_dim=50 disagrees with"),
    ]
    for args, needle in cases:
        r = run_main(*args, f"--workdir={tmp_path / 'w'}", f"--cache_dir={tmp_path / 'c'}", "--epochs=1")
        assert r.returncode == 1, (args, r.stderr[-1500:])
        err = [l for l in r.stderr.splitlines() if l.startswith("error:")]
        assert len(err) == 1 and needle in err[0], r.stderr[-1500:]
        assert "Traceback" not in r.stderr
