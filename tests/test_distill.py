"""Distillation: the teacher file (an ensemble's averaged probabilities on the training part), the
mixed loss, the student run, and the errors a bad teacher file gives."""

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import run_main, run_module

from ngjax.distill import ensemble, plugin, targets as distill
from ngjax.train import inputs, steps, loop as train
from ngjax.train import state as state_lib
from ngjax.config import Config, ConfigError, validate
from ngjax.errors import NgjaxError


def _cfg(corpus_dir, **kw):
    return Config(**{"data_dir": corpus_dir, "embeddings": "random", "embed_dim": 8, "seq_len": 16,
                     "batch_size": 8, "epochs": 2, "hidden_size": 6, "val_fraction": 0.2, **kw})


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def test_mixed_loss_equals_a_hand_computation():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 4)).astype(np.float32)
    labels = np.array([0, 3, 1, 1, 2], np.int32)
    soft = distill.soften(rng.dirichlet(np.ones(4), size=5), 1.0)
    w, t = 0.7, 3.0
    hard = -_log_softmax(logits)[np.arange(5), labels]
    soft_ce = -(soft * _log_softmax(logits / t)).sum(-1) * t * t
    want = np.mean(w * soft_ce + (1 - w) * hard)
    got, sums = plugin.soft_loss(w, t)(jnp.asarray(logits), {"labels": jnp.asarray(labels), "soft_targets": jnp.asarray(soft)})
    assert float(got) == pytest.approx(want, rel=1e-5)
    plain, plain_sums = steps.cross_entropy(jnp.asarray(logits), {"labels": jnp.asarray(labels)})
    assert float(plain) == pytest.approx(hard.mean(), rel=1e-5)
    # the reported metrics are the labels' whatever the teacher says
    assert {k: float(v) for k, v in sums.items()} == {k: float(v) for k, v in plain_sums.items()}
    zero, _ = plugin.soft_loss(0.0, t)(jnp.asarray(logits), {"labels": jnp.asarray(labels), "soft_targets": jnp.asarray(soft)})
    assert float(zero) == pytest.approx(hard.mean(), rel=1e-5)


def test_soften_is_the_power_one_over_t_renormalised():
    p = np.array([[0.7, 0.2, 0.1], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(distill.soften(p, 1.0), p, atol=1e-6)
    q = np.sqrt(p[0]) / np.sqrt(p[0]).sum()
    np.testing.assert_allclose(distill.soften(p, 2.0)[0], q, rtol=1e-5)
    assert distill.soften(p, 2.0)[1, 0] == pytest.approx(1.0, abs=1e-5)  # a zero stays ~zero


def test_the_soft_loss_pulls_the_student_to_the_targets(corpus_dir, tmp_path):
    """With weight 1 and no labels' term the student's probabilities on a batch move to the teacher's
    (which here disagree with the labels)."""
    cfg = inputs.resolve(_cfg(corpus_dir))
    run = inputs.load_inputs(cfg, str(tmp_path / "c"))
    x, y = jnp.asarray(run.data.x_train[:8]), jnp.asarray(run.data.y_train[:8])
    target = jax.nn.one_hot((y + 1) % 3, 3) * 0.8 + 0.2 / 3
    st = state_lib.create_state(0, run.spec, run.tx, run.table)
    step = jax.jit(functools.partial(steps.train_step, spec=run.spec, tx=optax.adam(0.05), loss=plugin.soft_loss(1.0, 1.0)))
    st = st.replace(opt_state=optax.adam(0.05).init(st.params))
    for _ in range(150):
        st, _ = step(st, (x, {"labels": y, "soft_targets": target}))
    from ngjax.model import network as model
    probs = jax.nn.softmax(model.apply(state_lib.full_params(st), x, run.spec), -1)
    np.testing.assert_allclose(probs, target, atol=0.05)


def test_flags_are_checked():
    with pytest.raises(ConfigError, match="add --teacher"):
        validate(Config(distill_weight=0.9))
    with pytest.raises(ConfigError, match=r"--distill_weight=1.5: must be in \[0, 1\]"):
        validate(Config(teacher="t.npz", distill_weight=1.5))
    with pytest.raises(ConfigError, match="--distill_temperature=0.0: must be a number > 0"):
        validate(Config(teacher="t.npz", distill_temperature=0.0))


def _finished_runs(root, configs: dict) -> list:
    """Train each {folder name: config} under ``root`` (cache root/c): the workdirs, in order."""
    for name, cfg in configs.items():
        train.train_and_evaluate(cfg, str(root / name), str(root / "c"), report=False)
    return [str(root / name) for name in configs]


@pytest.fixture(scope="module")
def teachers(corpus_dir, tmp_path_factory):
    """Two finished teacher runs and their teacher file (written by the command line)."""
    root = tmp_path_factory.mktemp("teachers")
    dirs = _finished_runs(root, {f"t{seed}": _cfg(corpus_dir, seed=seed) for seed in (0, 1)})
    out = str(root / "teacher.npz")
    r = run_module("ngjax.distill.teacher", f"--workdirs={','.join(dirs)}", f"--out={out}", f"--cache_dir={root / 'c'}")
    assert r.returncode == 0, r.stderr
    assert "2 teacher(s)" in r.stdout and "read only" not in r.stderr  # Orbax's read-only notes are not shown
    return dirs, out, str(root / "c")


def test_teacher_file_holds_the_averaged_probabilities(teachers):
    dirs, out, cache = teachers
    probs, labels, split = ensemble.ensemble_probabilities(dirs, cache, say=lambda *a, **k: None)
    with np.load(out) as f:
        np.testing.assert_allclose(f["probs"], probs, rtol=1e-6)
        np.testing.assert_array_equal(f["labels"], labels)
    from ngjax.data.dataset import load_dataset
    from ngjax.run.report import predict_proba
    from ngjax.run.workdir import load_run
    by_hand = 0
    for d in dirs:
        r = load_run(d)
        by_hand = by_hand + predict_proba(r.params, load_dataset(r.cfg, cache).x_train, r.spec) / 2
    np.testing.assert_allclose(probs, by_hand, rtol=1e-5, atol=1e-7)
    assert split == {"val_fraction": 0.2, "val_seed": 0, "remove": ""}


def test_student_trains_resumes_bit_exactly_and_weight_zero_is_the_plain_run(corpus_dir, teachers, tmp_path):
    _, out, cache = teachers
    student = _cfg(corpus_dir, teacher=out, distill_weight=0.8, distill_temperature=2.0, seed=3)
    once = train.train_and_evaluate(student, str(tmp_path / "once"), cache, report=False)
    train.train_and_evaluate(student.replace(epochs=1), str(tmp_path / "twice"), cache, report=False)
    twice = train.train_and_evaluate(student, str(tmp_path / "twice"), cache, report=False)
    assert once["final"]["train_loss"] == twice["final"]["train_loss"]
    assert once["final"]["test_loss"] == twice["final"]["test_loss"]
    plain = train.train_and_evaluate(_cfg(corpus_dir, seed=3), str(tmp_path / "plain"), cache, report=False)
    zero = train.train_and_evaluate(student.replace(distill_weight=0.0), str(tmp_path / "zero"), cache, report=False)
    assert zero["final"]["test_loss"] == plain["final"]["test_loss"]  # the teacher path changes nothing else
    assert once["final"]["test_loss"] != plain["final"]["test_loss"]  # and the teacher does change training


def test_bad_teacher_files_give_one_line_errors(corpus_dir, teachers, tmp_path):
    _, out, cache = teachers
    args = ["--data_dir=" + corpus_dir, "--embeddings=random", "--embed_dim=8", "--seq_len=16", "--epochs=1",
            "--hidden_size=6", "--val_fraction=0.2", f"--cache_dir={cache}"]
    missing = run_main(*args, "--teacher=" + str(tmp_path / "none.npz"), f"--workdir={tmp_path / 'a'}")
    assert missing.returncode == 1 and "no such file; write one with python -m ngjax.distill.teacher" in missing.stderr
    assert "Traceback" not in missing.stderr and not os.path.exists(tmp_path / "a" / "checkpoints")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    bad = run_main(*args, f"--teacher={junk}", f"--workdir={tmp_path / 'b'}")
    assert bad.returncode == 1 and "not a teacher file (an .npz written by" in bad.stderr
    partial = tmp_path / "partial.npz"
    np.savez(partial, kind=np.array(distill.KIND), probs=np.zeros((2, 3)))
    half = run_main(*args, f"--teacher={partial}", f"--workdir={tmp_path / 'd'}")
    assert half.returncode == 1 and "not an ngjax teacher file (no ['labels'," in half.stderr
    assert "Traceback" not in half.stderr
    other = run_main(*args, f"--teacher={out}", "--val_seed=1", f"--workdir={tmp_path / 'c'}")
    assert other.returncode == 1 and "another training split" in other.stderr
    assert "--whole_train" not in other.stderr  # the advice for a student on train + validation only:
    refit = run_main(*args, f"--teacher={out}", "--val_fraction=0", f"--workdir={tmp_path / 'r'}")
    assert refit.returncode == 1 and "python -m ngjax.distill.teacher --whole_train" in refit.stderr
    with pytest.raises(NgjaxError, match="another split"):
        d0 = str(tmp_path / "other_split")
        train.train_and_evaluate(_cfg(corpus_dir, val_seed=1), d0, cache, report=False)
        ensemble.ensemble_probabilities([teachers[0][0], d0], cache, say=lambda *a, **k: None)
    nowhere = run_module("ngjax.distill.teacher", f"--workdirs={tmp_path / 'nope'}", "--out=" + str(tmp_path / "t.npz"))
    assert nowhere.returncode == 1 and "--workdirs: " in nowhere.stderr and "no such folder" in nowhere.stderr
    empty = run_module("ngjax.distill.teacher", "--out=" + str(tmp_path / "t.npz"))
    assert empty.returncode == 2 and "give at least one finished run folder" in empty.stderr  # a missing option


def test_deleted_words_close_up_in_order_on_the_padding_side():
    x = np.array([[0, 0, 5, 6, 7, 8], [1, 2, 3, 0, 0, 0]], np.int32)
    rng = np.random.default_rng(0)
    pre = distill.delete_words(x[:1], 0.5, rng, pre_padded=True)[0]
    kept = pre[pre != 0]
    assert list(pre[: len(pre) - len(kept)]) == [0] * (len(pre) - len(kept))  # padding first, then the words
    assert list(kept) == [t for t in (5, 6, 7, 8) if t in kept]  # in their order
    post = distill.delete_words(x[1:], 0.5, np.random.default_rng(1), pre_padded=False)[0]
    kept = post[post != 0]
    assert list(post[: len(kept)]) == [t for t in (1, 2, 3) if t in kept] and not post[len(kept):].any()
    np.testing.assert_array_equal(distill.delete_words(x, 0.0, rng, True)[0], x[0])
    big = np.arange(1, 10001, dtype=np.int32)[None]
    assert 0.7 < (distill.delete_words(big, 0.75, rng, True) == 0).mean() < 0.8


def test_a_teacher_reading_shortened_documents_is_less_sure(teachers):
    dirs, _, cache = teachers
    quiet = dict(say=lambda *a, **k: None)
    full, _, _ = ensemble.ensemble_probabilities(dirs, cache, **quiet)
    short, labels, _ = ensemble.ensemble_probabilities(dirs, cache, delete=0.9, passes=2, **quiet)
    again, _, _ = ensemble.ensemble_probabilities(dirs, cache, delete=0.9, passes=2, **quiet)
    np.testing.assert_array_equal(short, again)  # the deletions are seeded
    assert not np.allclose(short, full)
    entropy = lambda p: float(-(p * np.log(p + 1e-12)).sum(-1).mean())  # noqa: E731
    assert entropy(short) > entropy(full)
    with pytest.raises(NgjaxError, match="more than one pass needs --delete"):
        ensemble.ensemble_probabilities(dirs, cache, passes=2, **quiet)


def _written_by_the_cli(dirs, cache, out: str, flag: str, want: np.ndarray) -> str:
    """``python -m ngjax.distill.teacher --FLAG`` writes ``want`` and records the flag in the file."""
    r = run_module("ngjax.distill.teacher", f"--workdirs={','.join(dirs)}", f"--out={out}", f"--cache_dir={cache}", f"--{flag}")
    assert r.returncode == 0, r.stderr
    with np.load(out) as f:
        np.testing.assert_allclose(f["probs"], want, rtol=1e-6)
        assert bool(f[flag])
    return out


def test_a_whole_train_teacher_file_serves_a_student_trained_on_train_and_validation(corpus_dir, teachers, tmp_path):
    """--whole_train: the teachers' probabilities on their training part and on their validation part,
    each document at its place in the corpus' order, for a student run with --val_fraction=0."""
    dirs, _, cache = teachers
    quiet = dict(say=lambda *a, **k: None)
    part, part_labels, _ = ensemble.ensemble_probabilities(dirs, cache, **quiet)
    whole, labels, split = ensemble.ensemble_probabilities(dirs, cache, whole_train=True, **quiet)
    assert split == {"val_fraction": 0.0, "val_seed": 0, "remove": ""}
    from ngjax.data.dataset import load_dataset, split_indices
    from ngjax.run.report import predict_proba
    from ngjax.run.workdir import load_run
    student = _cfg(corpus_dir, val_fraction=0.0)
    all_labels = load_dataset(student, cache).y_train
    np.testing.assert_array_equal(labels, all_labels)  # the student's labels, in its order
    tr, va = split_indices(all_labels, 0.2, 0)
    np.testing.assert_allclose(whole[tr], part, rtol=1e-6)
    np.testing.assert_array_equal(labels[tr], part_labels)
    by_hand = 0
    for d in dirs:
        r = load_run(d)
        by_hand = by_hand + predict_proba(r.params, load_dataset(r.cfg, cache).x_val, r.spec) / 2
    np.testing.assert_allclose(whole[va], by_hand, rtol=1e-5, atol=1e-7)
    out = _written_by_the_cli(dirs, cache, str(tmp_path / "whole.npz"), "whole_train", whole)
    # a student on train + validation reads it (any --val_seed: without a split it means nothing) ...
    summary = train.train_and_evaluate(student.replace(teacher=out, epochs=1, val_seed=3), str(tmp_path / "s"),
                                       cache, report=False)
    assert np.isfinite(summary["final"]["train_loss"])
    # ... and a student on the teachers' split refuses it
    with pytest.raises(NgjaxError, match="another training split"):
        train.train_and_evaluate(_cfg(corpus_dir, teacher=out), str(tmp_path / "p"), cache, report=False)


def test_cross_fitting_flags_are_checked():
    with pytest.raises(ConfigError, match="--cv_folds=1: must be 0 .off. or at least 2"):
        validate(Config(cv_folds=1))
    with pytest.raises(ConfigError, match=r"--cv_fold=3: must be in 0..2"):
        validate(Config(cv_folds=3, cv_fold=3))
    with pytest.raises(ConfigError, match="add --cv_folds=K"):
        validate(Config(cv_fold=1))


@pytest.fixture(scope="module")
def folds(corpus_dir, tmp_path_factory):
    """Two runs of --cv_folds=2 (one per held-out fold) on the teachers' split."""
    root = tmp_path_factory.mktemp("folds")
    dirs = _finished_runs(root, {f"f{fold}": _cfg(corpus_dir, cv_folds=2, cv_fold=fold) for fold in (1, 0)})
    return dirs, str(root / "c")


def test_a_cross_fitted_run_holds_its_fold_out_of_training(corpus_dir, folds):
    from ngjax.data.dataset import fold_indices, load_dataset
    _, cache = folds
    whole = load_dataset(_cfg(corpus_dir), cache)
    parts = [load_dataset(_cfg(corpus_dir, cv_folds=2, cv_fold=i), cache) for i in (0, 1)]
    held = fold_indices(whole.y_train, 2, 0)
    assert sorted(np.concatenate(held).tolist()) == list(range(len(whole.y_train)))  # the folds cover the part once
    from ngjax.data.corpus import load_corpus
    from ngjax.data.dataset import split_indices
    from ngjax.data.tokenizer import Tokenizer
    corpus = load_corpus(corpus_dir, ())
    part_texts = [corpus.texts["train"][j] for j in split_indices(corpus.labels["train"], 0.2, 0)[0]]
    for i, ds in enumerate(parts):
        np.testing.assert_array_equal(ds.y_heldout, whole.y_train[held[i]])
        np.testing.assert_array_equal(ds.y_train, np.delete(whole.y_train, held[i]))
        np.testing.assert_array_equal(ds.y_val, whole.y_val)  # validation and test are untouched
        np.testing.assert_array_equal(ds.y_test, whole.y_test)
        kept = [t for j, t in enumerate(part_texts) if j not in set(held[i].tolist())]
        assert ds.tokenizer.words == Tokenizer(num_words=20000).fit_on_texts(kept).words  # fit on the kept ones only
    assert whole.x_heldout is None


def test_cross_fitted_targets_come_from_the_run_that_held_each_document_out(corpus_dir, folds, teachers, tmp_path):
    dirs, cache = folds
    quiet = dict(say=lambda *a, **k: None)
    probs, labels, split = ensemble.cross_fitted_probabilities(dirs, cache, **quiet)
    from ngjax.data.dataset import fold_indices, load_dataset
    from ngjax.run.report import predict_proba
    from ngjax.run.workdir import load_run
    whole = load_dataset(_cfg(corpus_dir), cache)
    np.testing.assert_array_equal(labels, whole.y_train)
    assert split == {"val_fraction": 0.2, "val_seed": 0, "remove": ""}  # the student's split: no fold held out
    held = fold_indices(whole.y_train, 2, 0)
    for d in dirs:
        r = load_run(d)
        want = predict_proba(r.params, load_dataset(r.cfg, cache).x_heldout, r.spec)
        np.testing.assert_allclose(probs[held[r.cfg.cv_fold]], want, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)  # each document from exactly one run
    both, both_labels, both_split = ensemble.cross_fitted_probabilities(dirs, cache, whole_train=True, **quiet)
    assert both_split["val_fraction"] == 0.0 and len(both_labels) == len(whole.y_train) + len(whole.y_val)
    out = _written_by_the_cli(dirs, cache, str(tmp_path / "oof.npz"), "cross_fit", probs)
    student = train.train_and_evaluate(_cfg(corpus_dir, teacher=out, epochs=1), str(tmp_path / "s"), cache,
                                       report=False)
    assert np.isfinite(student["final"]["train_loss"])
    # one fold missing, or a run that is not cross-fitted: one-line errors naming the fix
    with pytest.raises(NgjaxError, match=r"holds? out folds \[1\]; give exactly one run for each of --cv_fold=0..1"):
        ensemble.cross_fitted_probabilities(dirs[:1], cache, **quiet)
    with pytest.raises(NgjaxError, match="is not one of .* cross-fitted runs"):
        ensemble.cross_fitted_probabilities([dirs[0], teachers[0][0]], cache, **quiet)
    bad = run_module("ngjax.distill.teacher", f"--workdirs={dirs[0]}", f"--out={tmp_path / 'x.npz'}", f"--cache_dir={cache}",
                     "--cross_fit")
    assert bad.returncode == 1 and "give exactly one run for each" in bad.stderr and "Traceback" not in bad.stderr


def test_unlabeled_rows_count_only_in_the_soft_term_and_not_in_the_metrics():
    """--transductive rows carry label -1: the loss is the soft term alone for them (weighted as any
    row in the batch mean) and the metric sums count the labelled rows only."""
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(6, 4)).astype(np.float32)
    labels = np.array([0, 3, -1, 1, -1, 2], np.int32)
    soft = distill.soften(rng.dirichlet(np.ones(4), size=6), 1.0)
    w, t = 0.7, 2.0
    hard = -_log_softmax(logits)[np.arange(6), np.maximum(labels, 0)] * (labels >= 0)
    soft_ce = -(soft * _log_softmax(logits / t)).sum(-1) * t * t
    got, sums = plugin.soft_loss(w, t)(jnp.asarray(logits), {"labels": jnp.asarray(labels), "soft_targets": jnp.asarray(soft)})
    assert float(got) == pytest.approx(np.mean(w * soft_ce + (1 - w) * hard), rel=1e-5)
    kept = labels >= 0
    _, only = steps.cross_entropy(jnp.asarray(logits[kept]), {"labels": jnp.asarray(labels[kept])})
    for k in ("loss_sum", "correct", "count"):
        assert float(sums[k]) == pytest.approx(float(only[k]), rel=1e-6)
    assert float(sums["count"]) == 4


def test_a_transductive_student_distils_on_the_unlabeled_test_texts(corpus_dir, teachers, tmp_path):
    """ngjax.distill.teacher --transductive adds the teachers' averaged probabilities on the test texts; a
    --transductive student trains on train + the test texts (labelled -1: their labels are never
    read), resumes bit-exactly, and differs from the same student without them."""
    dirs, _, cache = teachers
    out = str(tmp_path / "t.npz")
    r = run_module("ngjax.distill.teacher", f"--workdirs={','.join(dirs)}", f"--out={out}", f"--cache_dir={cache}",
                   "--transductive")
    assert r.returncode == 0, r.stderr
    from ngjax.data.dataset import load_dataset
    from ngjax.run.report import predict_proba
    from ngjax.run.workdir import load_run
    by_hand = 0
    for d in dirs:
        run = load_run(d)
        by_hand = by_hand + predict_proba(run.params, load_dataset(run.cfg, cache).x_test, run.spec) / 2
    with np.load(out) as f:
        np.testing.assert_allclose(f["test_probs"], by_hand, rtol=1e-5, atol=1e-7)
    student = _cfg(corpus_dir, teacher=out, distill_weight=0.7, distill_temperature=2.0, transductive=True)
    run = inputs.load_inputs(inputs.resolve(student), cache)
    x, fields = run.train_arrays()
    y, soft = fields["labels"], fields["soft_targets"]
    n, m = len(run.data.x_train), len(run.data.x_test)
    assert x.shape[0] == n + m and (y[n:] == -1).all() and (y[:n] == run.data.y_train).all()
    np.testing.assert_array_equal(x[n:], run.data.x_test)
    # the temperature (T = 2) applied once, by hand: p^(1/T) renormalised, on the training rows and the mixed ones
    with np.load(out) as f:
        train_probs = f["probs"].astype(np.float64)
    once_by_hand = lambda p: np.sqrt(p) / np.sqrt(p).sum(-1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(soft[:n], once_by_hand(train_probs), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(soft[n:], once_by_hand(by_hand), rtol=1e-5, atol=1e-6)
    once = train.train_and_evaluate(student, str(tmp_path / "once"), cache, report=False)
    assert once["unlabeled_test_texts_trained_on"] == m
    train.train_and_evaluate(student.replace(epochs=1), str(tmp_path / "twice"), cache, report=False)
    twice = train.train_and_evaluate(student, str(tmp_path / "twice"), cache, report=False)
    assert once["final"]["test_loss"] == twice["final"]["test_loss"]
    inductive = train.train_and_evaluate(student.replace(transductive=False), str(tmp_path / "ind"), cache,
                                         report=False)
    assert inductive["final"]["test_loss"] != once["final"]["test_loss"]
    # the training metrics are the labelled documents' (the test texts stay out of them)
    assert once["train_examples"] == n


def test_transductive_needs_a_teacher_with_test_probabilities(corpus_dir, teachers, tmp_path):
    _, out, cache = teachers  # written without --transductive
    with pytest.raises(ConfigError, match="--transductive distils on the unlabeled test texts"):
        validate(Config(transductive=True))
    with pytest.raises(NgjaxError, match="has no probabilities on the test texts"):
        train.train_and_evaluate(_cfg(corpus_dir, teacher=out, transductive=True), str(tmp_path / "s"), cache,
                                 report=False)
    assert not os.path.exists(tmp_path / "s" / "config.json")  # nothing written


def test_mixes_splice_one_documents_beginning_onto_anothers_end():
    from ngjax.distill import augment
    lengths = np.array([10, 3, 500, 7, 0])
    mixes = augment.draw(lengths, copies=3, limit=400, seed=5)
    assert mixes.shape == (15, 5) and augment.check(mixes, 5) == ""
    np.testing.assert_array_equal(mixes, augment.draw(lengths, 3, 400, 5))  # fixed by the seed
    assert (mixes != augment.draw(lengths, 3, 400, 6)).any()
    i, j, a, b, e = mixes.T
    capped = np.minimum(lengths, 400)
    assert (i != j).all() and (np.sort(i.reshape(3, 5), axis=1) == np.arange(5)).all()  # each begins one per copy
    assert (a <= capped[i]).all() and (b <= e).all() and (e == capped[j]).all()
    # the cut falls at one fraction of both documents
    both = (capped[i] > 0) & (capped[j] > 0)
    np.testing.assert_allclose((a / np.maximum(capped[i], 1))[both], (b / np.maximum(capped[j], 1))[both],
                               atol=0.5 / 3 + 1e-9)
    words = [["from", "alice", "subject", "cars"], ["the", "shuttle", "launch"]]
    assert augment.texts(words, np.array([[0, 1, 2, 1, 3], [1, 0, 0, 4, 4]])) == ["from alice shuttle launch", ""]
    assert "outside" in augment.check(np.array([[0, 2, 0, 0, 0]]), 2)
    assert "shape" in augment.check(np.zeros((2, 4)), 2)


def test_a_mixed_student_distils_on_mixed_training_documents(corpus_dir, teachers, tmp_path):
    """ngjax.distill.teacher --mix_copies=2 writes 2 mixed documents per training document and the teachers'
    averaged probabilities on them (each teacher reading the mixed text its own way); a --mixed
    student appends them to its training set, unlabeled, read with its own tokenizer, resumes
    bit-exactly and differs from the same student without them."""
    from ngjax.distill import augment
    from ngjax.data.dataset import load_dataset, training_texts
    from ngjax.run.report import predict_proba
    from ngjax.data.tokenizer import pad_sequences
    from ngjax.run.workdir import load_run
    dirs, _, cache = teachers
    out = str(tmp_path / "t.npz")
    r = run_module("ngjax.distill.teacher", f"--workdirs={','.join(dirs)}", f"--out={out}", f"--cache_dir={cache}",
                   "--mix_copies=2", "--mix_length=12", "--seed=4")
    assert r.returncode == 0, r.stderr
    with np.load(out) as f:
        mixes, mix_probs = f["mix_index"], f["mix_probs"]
    n = len(load_dataset(load_run(dirs[0]).cfg, cache).x_train)
    assert mixes.shape == (2 * n, 5) and (mixes[:, 4] <= 12).all()
    by_hand = 0
    for d in dirs:
        run = load_run(d)
        words = augment.word_lists(training_texts(run.cfg), run.tokenizer)
        texts = [" ".join(words[i][:a] + words[j][b:e]) for i, j, a, b, e in mixes]
        x = pad_sequences(run.tokenizer.texts_to_sequences(texts), run.cfg.seq_len, run.cfg.padding, run.cfg.truncating)
        by_hand = by_hand + predict_proba(run.params, x, run.spec) / 2
    np.testing.assert_allclose(mix_probs, by_hand, rtol=1e-5, atol=1e-7)
    # a student with a smaller vocabulary than its teachers reads the mixed texts with its own tokenizer
    student = _cfg(corpus_dir, teacher=out, distill_weight=0.7, distill_temperature=2.0, mixed=True, num_words=40)
    run = inputs.load_inputs(inputs.resolve(student), cache)
    x, fields = run.train_arrays()
    y, soft = fields["labels"], fields["soft_targets"]
    assert x.shape[0] == 3 * n and (y[n:] == -1).all() and (y[:n] == run.data.y_train).all()
    assert x.max() < 40
    words = augment.word_lists(training_texts(student), run.data.tokenizer)
    mine = pad_sequences(run.data.tokenizer.texts_to_sequences(augment.texts(words, mixes)), 16, "pre", "pre")
    np.testing.assert_array_equal(x[n:], mine)
    # the temperature (T = 2) applied once, by hand: p^(1/T) renormalised, on the training rows and the mixed ones
    with np.load(out) as f:
        train_probs = f["probs"].astype(np.float64)
    once_by_hand = lambda p: np.sqrt(p) / np.sqrt(p).sum(-1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(soft[:n], once_by_hand(train_probs), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(soft[n:], once_by_hand(by_hand), rtol=1e-5, atol=1e-6)
    once = train.train_and_evaluate(student, str(tmp_path / "once"), cache, report=False)
    assert once["mixed_documents_trained_on"] == 2 * n and once["train_examples"] == n
    train.train_and_evaluate(student.replace(epochs=1), str(tmp_path / "twice"), cache, report=False)
    twice = train.train_and_evaluate(student, str(tmp_path / "twice"), cache, report=False)
    assert once["final"]["test_loss"] == twice["final"]["test_loss"]
    plain = train.train_and_evaluate(student.replace(mixed=False), str(tmp_path / "plain"), cache, report=False)
    assert plain["final"]["test_loss"] != once["final"]["test_loss"]


def test_mixed_needs_a_teacher_file_with_mixed_documents(corpus_dir, teachers, tmp_path):
    _, out, cache = teachers  # written without --mix_copies
    with pytest.raises(ConfigError, match="--mixed distils on mixed training documents"):
        validate(Config(mixed=True))
    with pytest.raises(NgjaxError, match="has no mixed documents"):
        train.train_and_evaluate(_cfg(corpus_dir, teacher=out, mixed=True), str(tmp_path / "s"), cache, report=False)
    assert not os.path.exists(tmp_path / "s" / "config.json")  # nothing written
    with np.load(out) as f:
        got = {k: f[k] for k in f.files}
    bad = str(tmp_path / "bad.npz")
    np.savez(bad, **got, mix_index=np.array([[0, 10 ** 6, 0, 0, 0]]), mix_probs=np.full((1, 20), 0.05))
    with pytest.raises(NgjaxError, match="outside"):
        train.train_and_evaluate(_cfg(corpus_dir, teacher=bad, mixed=True), str(tmp_path / "b"), cache, report=False)
    r = run_module("ngjax.distill.teacher", f"--workdirs={teachers[0][0]}", f"--out={tmp_path / 'x.npz'}",
                   f"--cache_dir={cache}", "--mix_copies=-1")
    assert r.returncode != 0 and "--mix_copies=-1" in r.stderr.strip().splitlines()[-1]


def test_linear_member_chooses_c_on_validation_and_fills_absent_groups():
    from ngjax.distill import linear
    texts = ["apple banana", "apple cherry", "banana apple", "zebra yak", "yak zebra lion", "lion zebra"] * 3
    labels = np.array([0, 0, 0, 2, 2, 2] * 3)  # group 1 never occurs
    val = (["apple", "zebra lion", "banana cherry", "yak"], np.array([0, 2, 0, 2]))
    said = []
    member = linear.fit((texts, labels), val, str.split, cs=(0.01, 10.0), say=lambda m, **k: said.append(m))
    assert [c for c, _ in member.tried] == [0.01, 10.0] and len(said) == 2
    assert member.val_accuracy == max(acc for _, acc in member.tried)
    assert member.c == next(c for c, acc in member.tried if acc == member.val_accuracy)  # the first best
    p = member.probabilities(["apple banana", "zebra"], 3)
    assert p.shape == (2, 3) and (p[:, 1] == 0).all() and np.allclose(p.sum(1), 1, atol=1e-6)
    assert p[0].argmax() == 0 and p[1].argmax() == 2
    np.testing.assert_allclose(linear.blend(np.full((2, 3), 1 / 3), p, 0.25), 0.75 / 3 + 0.25 * p, rtol=1e-6)
    with pytest.raises(NgjaxError, match="--linear_c"):
        linear.fit((texts, labels), val, str.split, cs=("x",))
    with pytest.raises(NgjaxError, match="no validation part"):
        linear.fit((texts, labels), ([], []), str.split)
    alone = linear.fit((texts, labels), ([], []), str.split, cs=(10.0,), say=lambda *a, **k: None)
    assert alone.c == 10.0 and np.isnan(alone.val_accuracy)  # one C: nothing to choose, no validation needed


def test_a_linear_member_is_blended_into_every_target(corpus_dir, teachers, tmp_path):
    """--linear_weight=W: the file's probabilities on the training and mixed documents are (1 - W) x
    the runs' average + W x a TF-IDF + logistic regression model fit on the training part (C chosen on
    validation), whose C and weight the file records; bad values are one line before anything runs."""
    from ngjax.distill import augment, linear
    from ngjax.data.dataset import split_texts
    from ngjax.data.tokenizer import Tokenizer
    from ngjax.run.workdir import load_run
    dirs, _, cache = teachers
    plain, lin = str(tmp_path / "plain.npz"), str(tmp_path / "lin.npz")
    for out, more in ((plain, []), (lin, ["--linear_weight=0.25", "--linear_c=0.1,10"])):
        r = run_module("ngjax.distill.teacher", f"--workdirs={','.join(dirs)}", f"--out={out}", f"--cache_dir={cache}",
                       "--mix_copies=1", "--mix_length=12", *more)
        assert r.returncode == 0, r.stderr
    with np.load(plain) as f, np.load(lin) as g:
        parts = split_texts(load_run(dirs[0]).cfg)
        member = linear.fit(parts["train"], parts["val"], Tokenizer().text_to_word_sequence, (0.1, 10.0),
                            say=lambda *a, **k: None)
        assert float(g["linear_C"]) == member.c and float(g["linear_weight"]) == 0.25
        assert float(g["linear_val_accuracy"]) == member.val_accuracy
        classes = f["probs"].shape[1]
        mine = member.probabilities(parts["train"][0], classes)
        np.testing.assert_allclose(g["probs"], 0.75 * f["probs"] + 0.25 * mine, rtol=1e-5, atol=1e-6)
        words = augment.word_lists(parts["train"][0], Tokenizer())
        mixed = member.probabilities(augment.texts(words, f["mix_index"]), classes)
        np.testing.assert_array_equal(g["mix_index"], f["mix_index"])
        np.testing.assert_allclose(g["mix_probs"], 0.75 * f["mix_probs"] + 0.25 * mixed, rtol=1e-5, atol=1e-6)
        assert "linear_weight" not in f.files
    # --whole_train: the member (still fit on the training part) reads every training document, in the corpus' order
    whole, labels, _ = ensemble.ensemble_probabilities(dirs, cache, whole_train=True, say=lambda *a, **k: None)
    blended, _, _, info = linear.blend_into(dirs, 0.25, (0.1, 10.0), True, whole, labels, say=lambda *a, **k: None)
    everything = split_texts(load_run(dirs[0]).cfg.replace(val_fraction=0.0))["train"][0]
    assert len(everything) == len(labels) > len(parts["train"][0]) and info["C"] == member.c
    np.testing.assert_allclose(blended, 0.75 * whole + 0.25 * member.probabilities(everything, classes), rtol=1e-5,
                               atol=1e-6)
    for bad in (["--linear_weight=1.5"], ["--linear_weight=0.5", "--linear_c=abc"]):
        r = run_module("ngjax.distill.teacher", f"--workdirs={','.join(dirs)}", f"--out={tmp_path / 'x.npz'}",
                       f"--cache_dir={cache}", *bad)
        assert r.returncode != 0 and bad[-1] in r.stderr.strip().splitlines()[-1]
    with pytest.raises(NgjaxError, match="--cross_fit"):
        linear.check(0.2, True)
    assert not os.path.exists(tmp_path / "x.npz")


def test_the_linear_members_cs_fitted_side_by_side_are_the_ones_fitted_in_turn(monkeypatch):
    from ngjax.distill import linear
    texts = ["apple banana", "apple cherry", "banana apple", "zebra yak", "yak zebra lion", "lion zebra"] * 3
    labels = np.array([0, 0, 0, 2, 2, 2] * 3)
    val = (["apple", "zebra lion", "banana cherry", "yak"], np.array([0, 2, 0, 2]))
    quiet = lambda *a, **k: None  # noqa: E731
    fits = {}
    for cores in (1, 3):
        monkeypatch.setattr(os, "cpu_count", lambda: cores)
        fits[cores] = linear.fit((texts, labels), val, str.split, cs=(0.01, 1.0, 10.0), say=quiet)
    assert fits[1].tried == fits[3].tried and fits[1].c == fits[3].c
    np.testing.assert_array_equal(fits[1].probabilities(texts, 3), fits[3].probabilities(texts, 3))


def test_teachers_of_one_vocabulary_tokenise_the_mixed_documents_once_and_read_them_by_length(teachers,
                                                                                                monkeypatch):
    from ngjax.distill import augment
    dirs, _, _ = teachers
    quiet = lambda *a, **k: None  # noqa: E731
    calls = []
    real = augment.read
    monkeypatch.setattr(augment, "read", lambda *a: calls.append(1) or real(*a))
    mixes, probs = ensemble.mixed_probabilities(dirs, 2, 12, 0, False, say=quiet)
    assert len(calls) == 1  # two teachers, one vocabulary
    again, fast = ensemble.mixed_probabilities(dirs, 2, 12, 0, False, say=quiet, by_length=True)
    np.testing.assert_array_equal(again, mixes)
    np.testing.assert_allclose(fast, probs, atol=1e-5)
