"""Keras' Adam rule (the default) against a NumPy transcription and against Keras 3 itself;
optax's rule stays selectable; a workdir trained with one rule never continues with the other."""

import functools
import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngjax.model import network as model
from ngjax.train import optim
from ngjax.train import loop as train
from ngjax.config import Config, ConfigError, validate
from ngjax.errors import NgjaxError
from ngjax.train import state as state_lib
from ngjax.train import steps

HERE = os.path.dirname(os.path.abspath(__file__))


def numpy_keras_adam(params, grads_per_step, lr, b1=0.9, b2=0.999, eps=1e-7):
    """Keras 3's documented ``Adam.update_step``, in float32 NumPy, for a list of arrays."""
    f = np.float32
    p = [np.array(a, f) for a in params]
    m = [np.zeros_like(a) for a in p]
    v = [np.zeros_like(a) for a in p]
    for it, grads in enumerate(grads_per_step):
        t = f(it + 1)
        alpha = f(lr) * np.sqrt(f(1) - np.power(f(b2), t)) / (f(1) - np.power(f(b1), t))
        for k, g in enumerate(grads):
            g = np.asarray(g, f)
            m[k] += (g - m[k]) * f(1 - b1)
            v[k] += (np.square(g) - v[k]) * f(1 - b2)
            p[k] -= (m[k] * alpha) / (np.sqrt(v[k]) + f(eps))
    return p


def _grads(n_steps, shapes, scale, seed=0):
    rng = np.random.default_rng(seed)
    return [[(scale * rng.normal(size=s)).astype(np.float32) for s in shapes] for _ in range(n_steps)]


@pytest.mark.parametrize("scale", [1.0, 1e-6])
def test_keras_rule_matches_numpy_transcription(scale):
    shapes = [(3, 4), (5,)]
    params = [np.random.default_rng(9).normal(size=s).astype(np.float32) for s in shapes]
    grads = _grads(6, shapes, scale)
    tx = optim.adam(1e-3)  # the default rule: Keras'
    p = [jnp.asarray(a) for a in params]
    state = tx.init(p)
    upd = jax.jit(tx.update)
    for g in grads:
        u, state = upd([jnp.asarray(a) for a in g], state)
        p = [a + b for a, b in zip(p, u)]
    want = numpy_keras_adam(params, grads, 1e-3)
    for a, b in zip(p, want):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-6, atol=1e-9)
    assert int(state.count) == 6
    # optax's rule differs where the gradients are small (epsilon-hat): the test can tell them apart
    o_tx = optim.adam(1e-3, rule="optax")
    q, o_state = [jnp.asarray(a) for a in params], o_tx.init(params)
    for g in grads:
        u, o_state = o_tx.update([jnp.asarray(a) for a in g], o_state)
        q = [a + b for a, b in zip(q, u)]
    gap = max(float(np.max(np.abs(np.asarray(a) - b))) for a, b in zip(q, want))
    if scale < 1e-3:
        assert gap > 1e-3  # 6 steps of lr 1e-3: optax moves ~0.9 lr per step, Keras ~0.2-0.5 lr
    else:
        assert gap < 1e-5  # large gradients: eps is negligible in both forms


def test_keras_rule_first_step_moves_small_gradients_less():
    """Step 1 with |g| = 1e-6: optax moves lr * g / (|g| + eps) ~ 0.91 lr, Keras ~0.24 lr."""
    g = jnp.full((1,), 1e-6, jnp.float32)
    keras_u, _ = optim.adam(1.0).update(g, optim.adam(1.0).init(g))
    optax_u, _ = optim.adam(1.0, "optax").update(g, optim.adam(1.0, "optax").init(g))
    assert float(keras_u[0]) == pytest.approx(-np.sqrt(1e-3) * 0.1e-6 / 0.1 / (np.sqrt(1e-3) * 1e-6 + 1e-7), rel=1e-4)
    assert float(optax_u[0]) == pytest.approx(-1e-6 / (1e-6 + 1e-7), rel=1e-4)


def test_schedule_as_learning_rate():
    sched = lambda count: 1e-3 * (count + 1)  # noqa: E731
    g = [jnp.ones((2,), jnp.float32)]
    tx = optim.adam(sched)
    state = tx.init(g)
    u1, state = tx.update(g, state)
    u2, state = tx.update(g, state)
    # with constant unit gradients Keras' step is alpha_t * m / sqrt(v) ~ lr_t: 1e-3 then 2e-3
    assert float(-u1[0][0]) == pytest.approx(1e-3, rel=1e-3)
    assert float(-u2[0][0]) == pytest.approx(2e-3, rel=1e-3)


def test_adam_flag_validation_and_default():
    assert Config().adam == "keras"
    validate(Config(adam="optax"))
    with pytest.raises(ConfigError, match="--adam='pytorch': allowed values are keras, optax"):
        validate(Config(adam="pytorch"))


# ----------------------------------------------------------------------------- old workdirs
def _old_workdir(tmp_path, corpus_dir, glove8):
    """tests/data/workdir_v0_1: a real workdir written by ngjax before --adam (optax's rule),
    pointed at this session's (identical) tiny corpus and GloVe file."""
    w = str(tmp_path / "old")
    shutil.copytree(os.path.join(HERE, "data", "workdir_v0_1"), w)
    path = os.path.join(w, "config.json")
    saved = json.load(open(path))
    saved.update(data_dir=corpus_dir, glove_path=glove8)
    json.dump(saved, open(path, "w"))
    assert "adam" not in saved
    return w, saved


def test_old_workdir_is_not_continued_with_keras_rule(tmp_path, corpus_dir, glove8):
    w, saved = _old_workdir(tmp_path, corpus_dir, glove8)
    cfg = Config.from_dict({k: v for k, v in saved.items()}).replace(epochs=3)
    assert cfg.adam == "keras"
    with pytest.raises(NgjaxError, match="adam: saved 'optax', requested 'keras'"):
        train.train_and_evaluate(cfg, w, str(tmp_path / "c"), report=False)
    assert sorted(os.listdir(os.path.join(w, "checkpoints"))) == ["2"]  # nothing lost


def test_old_workdir_resumes_with_its_rule_as_the_old_code_did(tmp_path, corpus_dir, glove8):
    w, saved = _old_workdir(tmp_path, corpus_dir, glove8)
    expected = json.load(open(os.path.join(w, "expected_epoch3.json")))["epoch3"]
    cfg = Config.from_saved(saved).replace(epochs=3)
    assert cfg.adam == "optax"
    s = train.train_and_evaluate(cfg, w, str(tmp_path / "c"), report=False)
    assert s["epochs"] == 3
    row = [json.loads(l) for l in open(os.path.join(w, "metrics.jsonl"))][-1]
    for key, value in expected.items():
        assert row[key] == pytest.approx(value, rel=1e-6, abs=1e-7), key


# ----------------------------------------------------------------------------- Keras itself
def _keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("keras runs another backend in this process")
    return keras


def _keras_model(keras, spec, seq_len, params, lr):
    rnn = keras.layers.LSTM(spec.hidden_size) if spec.cell == "lstm" else keras.layers.SimpleRNN(spec.hidden_size)
    emb = keras.layers.Embedding(spec.rows, spec.embed_dim, trainable=spec.trainable_embedding)
    kmodel = keras.Sequential([keras.Input((seq_len,), dtype="int32"), emb, rnn,
                              keras.layers.Dense(spec.num_classes, activation="softmax")])
    emb.set_weights([np.asarray(params["embedding"]["table"])])
    p = params[spec.cell]
    rnn.set_weights([np.asarray(p["kernel"]), np.asarray(p["recurrent_kernel"]), np.asarray(p["bias"])])
    kmodel.layers[-1].set_weights([np.asarray(params["dense"]["kernel"]), np.asarray(params["dense"]["bias"])])
    kmodel.compile(optimizer=keras.optimizers.Adam(lr, epsilon=1e-7), loss="categorical_crossentropy")
    return kmodel, emb, rnn


@pytest.mark.parametrize("cell,trainable", [("lstm", False), ("rnn", True)])
def test_steps_agree_with_keras3(cell, trainable):
    keras = _keras()
    spec = model.ModelSpec(cell, rows=40, embed_dim=6, hidden_size=5, num_classes=4, trainable_embedding=trainable)
    seq_len, n_steps, lr = 7, 25, 1e-3
    rng = np.random.default_rng(3)
    table = rng.normal(scale=0.5, size=(spec.rows, spec.embed_dim)).astype(np.float32)
    table[0] = 0
    batches = []
    for _ in range(n_steps):
        x = rng.integers(0, spec.rows, (8, seq_len)).astype(np.int32)
        y = rng.integers(0, spec.num_classes, 8).astype(np.int32)
        batches.append((x, y))
    results = {}
    for rule in ("keras", "optax"):
        tx = optim.build(lr, "adam", rule)
        state = state_lib.create_state(0, spec, tx, None if trainable else table)
        if trainable:  # the same starting table for both frameworks
            state = state.replace(params={**state.params, "embedding": {"table": jnp.asarray(table)}})
        start = {**state.frozen, **state.params}
        step = jax.jit(functools.partial(steps.train_step, spec=spec, tx=tx))
        losses = []
        for x, y in batches:
            state, sums = step(state, (jnp.asarray(x), jnp.asarray(y)))
            losses.append(float(sums["loss_sum"]) / float(sums["count"]))
        results[rule] = ({**state.frozen, **state.params}, losses)
    kmodel, emb, rnn = _keras_model(keras, spec, seq_len, jax.device_get(start), lr)
    k_losses = [float(kmodel.train_on_batch(x, np.eye(spec.num_classes, dtype=np.float32)[y])) for x, y in batches]
    keras_weights = {"kernel": rnn.get_weights()[0], "recurrent_kernel": rnn.get_weights()[1],
                     "bias": rnn.get_weights()[2], "dense_kernel": kmodel.layers[-1].get_weights()[0],
                     "table": emb.get_weights()[0]}

    def gap(params):
        p = params[cell]
        ours = {"kernel": p["kernel"], "recurrent_kernel": p["recurrent_kernel"], "bias": p["bias"],
                "dense_kernel": params["dense"]["kernel"], "table": params["embedding"]["table"]}
        return max(float(np.max(np.abs(np.asarray(ours[k]) - keras_weights[k]))) for k in ours)

    ours, losses = results["keras"]
    assert gap(ours) < 2e-6, gap(ours)
    np.testing.assert_allclose(losses, k_losses, rtol=2e-6, atol=2e-6)
    assert gap(results["optax"][0]) > 2e-5  # optax's rule is measurably elsewhere


def test_old_workdir_serves_predictions(tmp_path, corpus_dir, glove8):
    """ngjax.predict / ngjax.report read an old workdir (optax Adam state in its checkpoint)."""
    from ngjax.run import predict, workdir as workdir_lib

    w, _ = _old_workdir(tmp_path, corpus_dir, glove8)
    run = workdir_lib.load_run(w)
    assert run.cfg.adam == "optax" and run.epoch == 2
    proba, known = predict.classify(run, ["nasa orbit launch", "god faith"])
    assert proba.shape == (2, 3) and known == [3, 2]
    np.testing.assert_allclose(proba.sum(-1), 1.0, rtol=1e-5)
