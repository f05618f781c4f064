"""Training beyond the seed: fine-tuned GloVe, clipping, AdamW, schedules, dropout keys, model
selection on validation (best checkpoint, early stopping), ensembles, length buckets."""

import dataclasses
import functools
import json
import re
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngjax.train import buckets, inputs, metrics, optim, selection, loop as train
from ngjax.model import network as model
from ngjax.train import state as state_lib
from ngjax.run import workdir as workdir_lib
from ngjax.config import Config, ConfigError, validate
from ngjax.train import steps


def _cfg(corpus_dir, glove8, **kw):
    return Config(**{"data_dir": corpus_dir, "glove_path": glove8, "seq_len": 16, "batch_size": 8,
                     "epochs": 2, "hidden_size": 6, **kw})


def _rows(w):
    return [json.loads(line) for line in open(os.path.join(w, "metrics.jsonl"))]


def test_finetuned_glove_starts_from_the_vectors_and_trains(corpus_dir, glove8, tmp_path):
    cfg = inputs.resolve(_cfg(corpus_dir, glove8, finetune_embedding=True))
    run = inputs.load_inputs(cfg, str(tmp_path / "c"))
    assert run.spec.trainable_embedding
    st = state_lib.create_state(0, run.spec, run.tx, run.table)
    np.testing.assert_array_equal(st.params["embedding"]["table"], run.table)  # GloVe is the start
    assert st.frozen == {}
    step = jax.jit(functools.partial(steps.train_step, spec=run.spec, tx=run.tx))
    x, y = jnp.asarray(run.data.x_train[:8]), jnp.asarray(run.data.y_train[:8])
    after, _ = step(st, (x, y))
    used = np.unique(np.asarray(x))
    assert not np.array_equal(np.asarray(after.params["embedding"]["table"])[used], run.table[used])
    s = train.train_and_evaluate(cfg, str(tmp_path / "w"), str(tmp_path / "c"), report=False)
    assert s["params"]["trainable"] == s["params"]["total"]


def test_clip_weight_decay_and_schedule():
    g = {"w": jnp.full((4,), 3.0)}  # global norm 6
    clipped = optim.build(1.0, clip_norm=1.5)
    state = clipped.init(g)
    u_clip, _ = clipped.update(g, state, g)
    u_plain, _ = optim.build(1.0).update(g, optim.build(1.0).init(g), g)
    # Adam's first step is ~ -lr * sign(g) whatever the scale, so clipping shows in the moments
    assert float(jnp.abs(u_clip["w"][0])) == pytest.approx(float(jnp.abs(u_plain["w"][0])), rel=1e-3)
    _, st = clipped.update(g, state, g)
    np.testing.assert_allclose(st[1].mu["w"], 0.1 * 0.75, rtol=1e-6)  # m = (1 - b1) * clipped g (0.75)
    # Keras' AdamW: p -= p * wd * lr before the Adam step
    p = {"w": jnp.full((2,), 2.0)}
    zero = {"w": jnp.zeros((2,))}
    u, _ = optim.build(0.1, weight_decay=0.5).update(zero, optim.build(0.1, weight_decay=0.5).init(p), p)
    np.testing.assert_allclose(u["w"], -2.0 * 0.5 * 0.1, rtol=1e-6)
    cfg = Config(lr_schedule="warmup_cosine", warmup_epochs=1.0, schedule_epochs=4, learning_rate=0.01)
    lr = inputs.learning_rate(cfg, 10)
    assert float(lr(0)) == 0.0 and float(lr(10)) == pytest.approx(0.01) and float(lr(40)) == pytest.approx(0.0)
    assert 0 < float(lr(25)) < 0.01
    assert inputs.resolve(Config(lr_schedule="warmup_cosine", epochs=7)).schedule_epochs == 7


def test_new_flags_are_validated():
    for kw, msg in [(dict(dropout=1.0), "--dropout=1.0: must be in"), (dict(finetune_embedding=True, embeddings="random"),
                    "--finetune_embedding trains a GloVe table"),
                    (dict(early_stopping=3), "--early_stopping=3 watches the validation split"),
                    (dict(length_buckets=4), "--length_buckets drops padding steps"),
                    (dict(clip_norm=-1.0), "--clip_norm=-1.0: must be a (finite) number >= 0"),
                    (dict(pool="cls"), "--pool='cls': allowed values are last, max, mean, maxmean, attention"),
                    (dict(cell="transformer"), "allowed values are lstm, gru, rnn"),
                    (dict(warmup_epochs=2.0), "--warmup_epochs / --schedule_epochs shape"),
                    (dict(pool_embeddings=True), "--pool_embeddings pools the word vectors over time; use a pooled head"),
                    (dict(embeddings="random", embedding_optimizer="lazy_adam", clip_norm=1.0), "dense Adam only")]:
        with pytest.raises(ConfigError, match=re.escape(msg)):
            validate(Config(**kw))
    validate(Config(length_buckets=4, bidirectional=True))
    validate(Config(pool="max", pool_embeddings=True))
    validate(Config(embedding_optimizer="lazy_adam", finetune_embedding=True))


def test_dropout_keys_come_from_seed_and_step():
    spec = model.ModelSpec("gru", rows=20, embed_dim=4, hidden_size=3, num_classes=2, trainable_embedding=True,
                           bidirectional=True, pool="max", dropout=0.5, embed_dropout=0.3)
    tx = optim.build(1e-2)
    st = state_lib.create_state(0, spec, tx, None)
    assert not np.array_equal(state_lib.dropout_key(st), state_lib.dropout_key(st.replace(step=st.step + 1)))
    np.testing.assert_array_equal(state_lib.dropout_key(st), state_lib.dropout_key(state_lib.create_state(0, spec, tx, None)))
    x = jnp.asarray(np.random.default_rng(0).integers(0, 20, (4, 7)).astype(np.int32))
    y = jnp.asarray([0, 1, 0, 1], jnp.int32)
    step = jax.jit(functools.partial(steps.train_step, spec=spec, tx=tx))
    _, a = step(st, (x, y))
    _, b = step(st.replace(step=st.step + 1), (x, y))  # same params, another step: other masks
    assert float(a["loss_sum"]) != float(b["loss_sum"])
    _, c = step(st, (x, y))
    assert float(a["loss_sum"]) == float(c["loss_sum"])


def test_selection_on_a_history():
    h = [{"epoch": 1, "val_accuracy": 0.5, "val_loss": 1.0}, {"epoch": 2, "val_accuracy": 0.7, "val_loss": 0.8},
         {"epoch": 3, "val_accuracy": 0.7, "val_loss": 0.7}, {"epoch": 4, "val_accuracy": 0.6, "val_loss": 0.9}]
    assert selection.best_epoch(h, "val_accuracy") == 2  # the earliest of equals
    assert selection.best_epoch(h, "val_loss") == 3
    assert selection.stop_due(h, "val_accuracy", 2) and not selection.stop_due(h, "val_accuracy", 3)
    assert not selection.stop_due(h, "val_loss", 2) and not selection.stop_due(h, "val_accuracy", 0)
    assert selection.is_new_best(h[:2], "val_accuracy") and not selection.is_new_best(h[:3], "val_accuracy")
    assert selection.best_epoch([{"epoch": 1, "test_accuracy": 0.9}], "val_accuracy") is None


def test_early_stopping_stops_at_the_right_epoch_and_reports_the_best(corpus_dir, glove8, tmp_path):
    w, cache = str(tmp_path / "w"), str(tmp_path / "c")
    cfg = _cfg(corpus_dir, glove8, val_fraction=0.3, early_stopping=2, monitor="val_loss", epochs=60,
               learning_rate=0.05, finetune_embedding=True, hidden_size=16)
    s = train.train_and_evaluate(cfg, w, cache)
    rows = _rows(w)
    best = selection.best_epoch(rows, "val_loss")
    assert len(rows) < 60, "did not stop early"
    assert rows[-1]["epoch"] == best + 2 == s["stopped_early"]
    assert s["selected"]["epoch"] == best and s["selected"]["val_loss"] == min(r["val_loss"] for r in rows)
    assert sorted(os.listdir(os.path.join(w, "checkpoints_best"))) == [str(best)]
    # predict/report read the best epoch's params: they give its validation loss
    run = workdir_lib.load_run(w)
    ds = inputs.load_inputs(inputs.resolve(cfg), cache).data
    sums = steps.evaluate(run.params, jnp.asarray(ds.x_val), jnp.asarray(ds.y_val), spec=run.spec, batch_size=64)
    assert metrics.split_metrics(sums, "val")["val_loss"] == pytest.approx(s["selected"]["val_loss"], rel=1e-5)
    latest = inputs.load_inputs(inputs.resolve(cfg), cache)
    assert "Nothing to do" in _rerun(cfg, w, cache)  # a stopped run stays stopped
    assert latest.spec == run.spec


def _rerun(cfg, w, cache):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        train.train_and_evaluate(cfg, w, cache, report=False)
    return out.getvalue()


def test_ensemble_accuracy_equals_a_hand_computation():
    spec = model.ModelSpec("lstm", rows=10, embed_dim=3, hidden_size=4, num_classes=3, trainable_embedding=True)
    reps = [model.init(jax.random.PRNGKey(k), spec) for k in (0, 1)]
    stacked = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), *reps)
    x = jnp.asarray(np.random.default_rng(0).integers(1, 10, (7, 5)).astype(np.int32))
    y = jnp.asarray([0, 1, 2, 0, 1, 2, 0], jnp.int32)
    probs = [np.asarray(jax.nn.softmax(model.apply(p, x, spec)), np.float64) for p in reps]
    mean = (probs[0] + probs[1]) / 2
    want_acc = float(np.mean(mean.argmax(-1) == np.asarray(y)))
    want_loss = float(np.mean(-np.log(mean[np.arange(7), np.asarray(y)])))
    axes = {k: 0 for k in stacked}
    sums = steps.evaluate_ensemble(stacked, x, y, spec=spec, batch_size=4, param_axes=axes)
    got = metrics.split_metrics(sums["ensemble"], "test_ensemble")
    for k, p in enumerate(reps):  # the replicas' own sums come from the same forward pass
        one = metrics.split_metrics(steps.evaluate(p, x, y, spec=spec, batch_size=4), "t")
        assert metrics.split_metrics(sums["replicas"], "t")["per_seed"]["t_accuracy"][k] == pytest.approx(one["t_accuracy"])
    assert got["test_ensemble_accuracy"] == pytest.approx(want_acc)
    assert got["test_ensemble_loss"] == pytest.approx(want_loss, rel=1e-5)


def test_replicas_share_the_evaluation_chunk():
    one = Config(eval_batch_size=1024)
    assert steps.eval_chunk(one) == 1024 and steps.eval_chunk(dataclasses.replace(one, seeds=5)) == 204
    assert steps.eval_chunk(dataclasses.replace(one, seeds=4000)) == 1


def test_seeds_run_reports_the_ensemble(corpus_dir, glove8, tmp_path):
    s = train.train_and_evaluate(_cfg(corpus_dir, glove8, seeds=2), str(tmp_path / "w"), str(tmp_path / "c"),
                                 report=False)
    row = _rows(str(tmp_path / "w"))[-1]
    assert 0 <= row["test_ensemble_accuracy"] <= 1 and s["ensemble"]["test_ensemble_accuracy"] == row["test_ensemble_accuracy"]


def test_bucket_plan_covers_every_document_once_at_a_length_that_holds_it():
    rng = np.random.default_rng(0)
    lens = rng.integers(0, 40, 101)
    x = np.zeros((101, 40), np.int32)
    for i, n in enumerate(lens):
        x[i, 40 - n:] = rng.integers(1, 9, n)  # pre-padded
    order, plan = buckets.plan(x, 8, 3)
    assert len(plan) == 3 and plan[-1][1] == 101 and all((e - s) % 8 == 0 for s, e, _ in plan[:-1])
    for s, e, length in plan:
        assert lens[order[s:e]].max() <= length <= 40
    idx, ids, rest = buckets.epoch_batches(jax.random.PRNGKey(0), jnp.asarray(order), plan, 8)
    seen = np.concatenate([np.asarray(idx).ravel(), np.asarray(rest)])
    assert sorted(seen.tolist()) == list(range(101))
    for b, row in zip(np.asarray(ids), np.asarray(idx)):
        s, e, _ = plan[b]
        assert set(row.tolist()) <= set(order[s:e].tolist())


def test_a_cut_batch_trains_like_the_full_one_in_a_masked_model():
    spec = model.ModelSpec("lstm", rows=12, embed_dim=4, hidden_size=3, num_classes=2, trainable_embedding=True,
                           bidirectional=True, pool="mean")
    tx = optim.build(1e-2)
    st = state_lib.create_state(0, spec, tx, None)
    x = np.zeros((4, 20), np.int32)
    x[:, -6:] = np.random.default_rng(1).integers(1, 12, (4, 6))
    y = jnp.asarray([0, 1, 1, 0], jnp.int32)
    step = jax.jit(functools.partial(steps.train_step, spec=spec, tx=tx))
    a, sa = step(st, (jnp.asarray(x), y))
    b, sb = step(st, (buckets.cut(jnp.asarray(x), 8, True), y))
    assert float(sa["loss_sum"]) == pytest.approx(float(sb["loss_sum"]), rel=1e-6)
    for u, v in zip(jax.tree_util.tree_leaves(a.params), jax.tree_util.tree_leaves(b.params)):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-7)


def test_bucketed_run_learns_and_evaluates_like_unbucketed(corpus_dir, glove8, tmp_path):
    base = dict(bidirectional=True, pool="max", epochs=3, padding="post", truncating="post", seq_len=40,
                learning_rate=1e-2)
    a = train.train_and_evaluate(_cfg(corpus_dir, glove8, length_buckets=3, **base), str(tmp_path / "a"),
                                 str(tmp_path / "c"), report=False)
    rows = _rows(str(tmp_path / "a"))
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    # evaluation at bucket lengths gives the same numbers as at full length
    run = workdir_lib.load_run(str(tmp_path / "a"))
    ds = inputs.load_inputs(inputs.resolve(_cfg(corpus_dir, glove8, **base)), str(tmp_path / "c")).data
    full = steps.evaluate(run.params, jnp.asarray(ds.x_test), jnp.asarray(ds.y_test), spec=run.spec, batch_size=16)
    assert metrics.split_metrics(full, "test")["test_accuracy"] == pytest.approx(a["final"]["test_accuracy"])
    assert metrics.split_metrics(full, "test")["test_loss"] == pytest.approx(a["final"]["test_loss"], rel=1e-5)


def test_a_schedule_keeps_its_length_when_a_run_is_continued(corpus_dir, glove8, tmp_path):
    w, cache = str(tmp_path / "w"), str(tmp_path / "c")
    cfg = _cfg(corpus_dir, glove8, lr_schedule="warmup_cosine", warmup_epochs=1.0, epochs=2)
    train.train_and_evaluate(cfg, w, cache, report=False)
    s = train.train_and_evaluate(cfg.replace(epochs=3), w, cache, report=False)  # continue: not refused
    assert s["epochs"] == 3
    assert json.load(open(os.path.join(w, "config.json")))["schedule_epochs"] == 2


@pytest.mark.parametrize("seeds", [1, 2])
def test_test_once_reads_the_reported_epoch_as_every_epoch_would(corpus_dir, glove8, tmp_path, seeds):
    """--notest_each_epoch: the same training; only the selected epoch's row has test metrics, the
    ones a run evaluating test every epoch records for that epoch (replicas and ensemble too)."""
    cache = str(tmp_path / "c")
    cfg = _cfg(corpus_dir, glove8, val_fraction=0.3, epochs=4, learning_rate=0.05, finetune_embedding=True,
               seeds=seeds)
    every = train.train_and_evaluate(cfg, str(tmp_path / "every"), cache, report=False)
    once = train.train_and_evaluate(cfg.replace(test_each_epoch=False), str(tmp_path / "once"), cache, report=False)
    rows, all_rows = _rows(str(tmp_path / "once")), _rows(str(tmp_path / "every"))
    best = once["selected"]["epoch"]
    assert best == every["selected"]["epoch"]
    assert [r["epoch"] for r in rows if "test_accuracy" in r] == [best]
    tested = [k for k in all_rows[best - 1] if k.startswith("test_")]
    assert tested and all(rows[best - 1][k] == all_rows[best - 1][k] for k in tested)
    assert rows[best - 1].get("per_seed") == all_rows[best - 1].get("per_seed")
    for key in ("train_loss", "val_loss", "val_accuracy"):  # the same training and validation
        assert [r[key] for r in rows] == [r[key] for r in all_rows]
    assert once["selected"]["test_accuracy"] == every["selected"]["test_accuracy"]
    if seeds > 1:  # the replicas' statistics: the reported epoch's (the last one has no test metrics)
        want = np.mean(all_rows[best - 1]["per_seed"]["test_accuracy"])
        assert once["seeds"]["test_accuracy"]["mean"] == pytest.approx(want)
    line = metrics.epoch_line(1, 4, dict(rows[0], epoch_seconds=1.0))
    assert "val_accuracy" in line and "test" not in line
