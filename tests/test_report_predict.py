"""Report files, the workdir-only report command, and predict (agreement and bad input)."""

import io
import json
import os

import numpy as np
import pytest

from conftest import GROUPS, run_module
from ngjax.data import dataset as data_lib
from ngjax.run import predict, report
from ngjax.train import loop as train
from ngjax.config import Config
from ngjax.errors import NgjaxError
from ngjax.run import workdir as workdir_lib
from ngjax.train import inputs
from ngjax.data import corpus


@pytest.fixture(scope="module")
def trained(tmp_path_factory, corpus_dir, glove8):
    root = tmp_path_factory.mktemp("reportrun")
    w, cache = str(root / "run"), str(root / "cache")
    cfg = Config(data_dir=corpus_dir, glove_path=glove8, seq_len=20, batch_size=8, epochs=8, pool="max",
                 learning_rate=1e-2)
    train.train_and_evaluate(cfg, w, cache)
    return w, cache, cfg


def _cli(module, *args, stdin=None):
    return run_module(module, *args, stdin=stdin)


def test_run_writes_report_files_with_the_groups(trained):
    w, _, _ = trained
    for f in ("plots/curves.png", "plots/confusion.png", "report.txt", "samples.md"):
        path = os.path.join(w, f)
        assert os.path.getsize(path) > 0, f
    with open(os.path.join(w, "plots", "curves.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    text = open(os.path.join(w, "report.txt")).read()
    assert all(g in text for g in GROUPS) and "accuracy" in text
    samples = open(os.path.join(w, "samples.md")).read()
    assert samples.count("\n| ") >= 12 and "From: someone@" in samples
    assert any(g in samples for g in GROUPS)


def test_predict_argmax_equals_evaluation(trained):
    w, cache, cfg = trained
    run = workdir_lib.load_run(w)
    ds = data_lib.load_dataset(inputs.resolve(cfg), cache)
    texts = corpus.load_local(cfg.data_dir).texts["test"]
    proba, known = predict.classify(run, texts)
    direct = report.predict_proba(run.params, ds.x_test, run.spec)
    np.testing.assert_array_equal(proba.argmax(-1), direct.argmax(-1))
    acc = float((direct.argmax(-1) == ds.y_test).mean())
    last = json.loads(open(os.path.join(w, "metrics.jsonl")).read().splitlines()[-1])
    assert acc == pytest.approx(last["test_accuracy"])
    assert min(known) > 0


def test_predict_cli_prints_top_k(trained):
    w, _, _ = trained
    r = _cli("ngjax.predict", f"--workdir={w}", "--top_k=2", "nasa orbit rocket shuttle launch")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("[arg 1]") and len(lines) == 3
    assert lines[1].split()[0] == "sci.space"  # the top group, not just some group
    assert lines[2].split()[0] in GROUPS and lines[2].split()[0] != "sci.space"
    probs = [float(l.split()[-1]) for l in lines[1:]]
    assert probs == sorted(probs, reverse=True)
    r = _cli("ngjax.predict", f"--workdir={w}", stdin="god faith religion\n\npixel image render\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout.strip().splitlines()
    assert out[0].startswith("[line 1]") and out[1].split()[0] == "alt.atheism"
    assert out[4].startswith("[line 3]") and out[5].split()[0] == "comp.graphics"


TOPICS = ["nasa orbit rocket shuttle launch moon", "god faith religion bible belief atheist",
          "image pixel render polygon bitmap jpeg"]


def test_python_api_classifies_texts(trained, tmp_path):
    import ngjax

    w, _, _ = trained
    clf = ngjax.load_run(w)
    assert clf.target_names == GROUPS and clf.epoch == 8
    assert clf.predict(TOPICS) == ["sci.space", "alt.atheism", "comp.graphics"]
    proba = clf.predict_proba(TOPICS)
    assert proba.shape == (3, len(GROUPS)) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(proba, predict.classify(workdir_lib.load_run(w), TOPICS)[0])
    top = clf.top_k(TOPICS, k=2)
    assert [t[0][0] for t in top] == clf.predict(TOPICS)
    for t, p in zip(top, proba):
        assert len(t) == 2 and t[0][1] >= t[1][1] and t[0][1] == pytest.approx(float(p.max()))
    with pytest.raises(NgjaxError, match="list of texts"):
        clf.predict("one text, not a list")
    with pytest.raises(NgjaxError, match="texts\\[1\\] is int"):
        clf.predict(["fine", 3])
    with pytest.raises(NgjaxError, match="k=0"):
        clf.top_k(TOPICS, k=0)
    with pytest.raises(NgjaxError, match="no such folder"):
        ngjax.load_run(str(tmp_path / "nothing"))


def test_predict_bad_inputs(trained, tmp_path):
    w, _, _ = trained
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"abc\x00\x01")
    big = tmp_path / "big.txt"
    big.write_text("word " * 300)
    with pytest.raises(NgjaxError, match="is empty"):
        predict.gather_documents(["  "], [], None, 1000)
    with pytest.raises(NgjaxError, match="looks binary"):
        predict.gather_documents([], [str(binary)], None, 1000)
    with pytest.raises(NgjaxError, match="larger than 1000 bytes"):
        predict.gather_documents([], [str(big)], None, 1000)
    with pytest.raises(NgjaxError, match="cannot read it"):
        predict.gather_documents([], [str(tmp_path / "nope.txt")], None, 1000)
    with pytest.raises(NgjaxError, match="no text given"):
        predict.gather_documents([], [], None, 1000)
    assert predict.gather_documents([], [], io.TextIOWrapper(io.BytesIO(b"a\n\nb\n")), 1000) == [
        ("line 1", "a"), ("line 3", "b")]
    r = _cli("ngjax.predict", f"--workdir={w}", f"--file={binary}")
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].startswith("error: --file=")
    assert "Traceback" not in r.stderr
    for module in ("ngjax.predict", "ngjax.report"):  # no --workdir: one line, exit 2
        r = _cli(module, "some text") if module == "ngjax.predict" else _cli(module)
        assert r.returncode == 2 and r.stderr.strip() == (
            "error: --workdir is required: pass a run folder made by python -m ngjax.main"), r.stderr


def test_predict_refuses_a_workdir_without_checkpoint(trained, tmp_path):
    w, _, _ = trained
    empty = tmp_path / "fresh"
    empty.mkdir()
    for name in ("config.json", "tokenizer.json", "labels.json"):
        (empty / name).write_text(open(os.path.join(w, name)).read())
    with pytest.raises(NgjaxError, match="no finished checkpoint yet"):
        workdir_lib.load_run(str(empty))
    with pytest.raises(NgjaxError, match="no such folder"):
        workdir_lib.load_run(str(tmp_path / "missing"))
    r = _cli("ngjax.predict", f"--workdir={empty}", "some text")
    assert r.returncode == 1 and "no finished checkpoint yet" in r.stderr and "Traceback" not in r.stderr


def test_report_command_for_an_existing_workdir(trained):
    w, cache, _ = trained
    for f in ("report.txt", "samples.md", "plots/confusion.png"):
        os.remove(os.path.join(w, f))
    r = _cli("ngjax.report", f"--workdir={w}", f"--cache_dir={cache}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert os.path.exists(os.path.join(w, "plots", "confusion.png"))
    assert all(g in open(os.path.join(w, "report.txt")).read() for g in GROUPS)


def test_reading_by_length_gives_the_reference_probabilities_with_fewer_positions(monkeypatch):
    """A teacher file's fast reading (``by_length``): documents sorted by length, words moved to the
    front, chunks cut to a few lengths; the reference's probabilities up to rounding, in document
    order, for pre- and post-padded documents; an unmasked model (the seed's) is read as before."""
    import jax

    from ngjax.model import network as model

    rng = np.random.default_rng(0)
    docs = rng.integers(1, 40, (70, 150)).astype(np.int32)
    for i, n in enumerate(rng.integers(0, 151, 70)):
        docs[i, n:] = 0
        if i % 2:
            docs[i] = np.roll(docs[i], 150 - n)  # pre-padded
    spec = model.ModelSpec("gru", rows=40, embed_dim=5, hidden_size=4, num_classes=3, trainable_embedding=True,
                           bidirectional=True, pool="maxmean", manual_backward=True)
    params = model.init(jax.random.PRNGKey(0), spec)
    shapes = []
    real = report._proba_fn

    def counted(s):
        fn = real(s)
        return lambda p, t: shapes.append(t.shape) or fn(p, t)

    monkeypatch.setattr(report, "_proba_fn", counted)
    fast = report.predict_proba(params, docs, spec, 16, by_length=True)
    assert len(shapes) == 5 and {s[0] for s in shapes} == {16}  # 70 documents in chunks of 16
    assert sorted({s[1] for s in shapes}) == sorted({s[1] for s in shapes} & {64, 128, 150})  # a few lengths
    assert sum(s[1] for s in shapes) < 5 * 150  # fewer positions than the full length
    monkeypatch.setattr(report, "_proba_fn", real)
    np.testing.assert_allclose(fast, report.predict_proba(params, docs, spec, 16), atol=1e-6)
    seed = model.ModelSpec("lstm", rows=40, embed_dim=5, hidden_size=4, num_classes=3, trainable_embedding=True)
    p = model.init(jax.random.PRNGKey(1), seed)
    np.testing.assert_array_equal(report.predict_proba(p, docs, seed, 16, by_length=True),
                                  report.predict_proba(p, docs, seed, 16))
