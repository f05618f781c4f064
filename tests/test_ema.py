"""--ema_decay: the parameters' moving average is what a run evaluates, selects, saves and predicts with."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ngjax.train import inputs, metrics, optim, steps, loop as train
from ngjax.train import state as state_lib
from ngjax.run import workdir as workdir_lib
from ngjax.run.checkpoint import Checkpoints
from ngjax.config import Config, ConfigError, validate


def test_the_average_equals_a_hand_computation():
    d, lr = 0.8, 0.1
    params = {"w": jnp.array([1.0, -2.0]), "b": jnp.array(0.5)}
    tx = optim.with_param_ema(optax.sgd(lr), d)
    state = tx.init(params)
    assert optim.averaged(state, params) is not None
    np.testing.assert_array_equal(optim.averaged(state, params)["w"], params["w"])  # no step yet: the params
    seen, p = [], params
    for t in range(3):
        g = {"w": jnp.array([0.3, -1.0]) * (t + 1), "b": jnp.array(2.0 - t)}
        updates, state = tx.update(g, state, p)
        np.testing.assert_array_equal(updates["w"], -lr * g["w"])  # the wrapped optimizer's updates, unchanged
        p = optax.apply_updates(p, updates)
        seen.append(jax.tree_util.tree_map(np.asarray, p))
    for k in ("w", "b"):
        raw = sum((1 - d) * d ** (2 - s) * seen[s][k] for s in range(3))
        np.testing.assert_allclose(optim.averaged(state, p)[k], raw / (1 - d ** 3), rtol=1e-6)
    assert optim.averaged(optax.sgd(lr).init(params), params) is params  # no average kept: the params
    # K stacked replicas (--seeds=K): each reads its own count; replica 1 has taken no step yet
    stacked = jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), state, tx.init(params))
    both = optim.averaged(stacked, jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), p, params))
    np.testing.assert_allclose(both["w"][0], optim.averaged(state, p)["w"], rtol=1e-6)
    np.testing.assert_array_equal(both["w"][1], params["w"])


def test_ema_flag_validation():
    validate(Config(ema_decay=0.998))
    with pytest.raises(ConfigError, match=r"--ema_decay=1\.0: must be in \[0, 1\)"):
        validate(Config(ema_decay=1.0))
    with pytest.raises(ConfigError, match="--ema_decay work with dense Adam only"):
        validate(Config(embeddings="random", embedding_optimizer="lazy_adam", ema_decay=0.9))


def test_a_run_evaluates_and_saves_the_average_and_continues_it_exactly(corpus_dir, glove8, tmp_path):
    cfg = Config(data_dir=corpus_dir, glove_path=glove8, seq_len=16, batch_size=8, epochs=2, hidden_size=6,
                 finetune_embedding=True, learning_rate=0.05, ema_decay=0.7)
    cache = str(tmp_path / "c")
    train.train_and_evaluate(cfg, str(tmp_path / "w2"), cache, report=False)
    train.train_and_evaluate(Config(**{**cfg.__dict__, "epochs": 1}), str(tmp_path / "w"), cache, report=False)
    train.train_and_evaluate(cfg, str(tmp_path / "w"), cache, report=False)  # continued to 2 epochs
    rows = [[json.loads(line) for line in open(tmp_path / w / "metrics.jsonl")] for w in ("w", "w2")]
    strip = lambda r: {k: v for k, v in r.items() if k != "epoch_seconds"}  # noqa: E731
    assert [strip(r) for r in rows[0]] == [strip(r) for r in rows[1]]  # the average was checkpointed

    run = workdir_lib.load_run(str(tmp_path / "w"))
    ds = inputs.load_inputs(inputs.resolve(cfg), cache).data
    x, y = jnp.asarray(ds.x_test), jnp.asarray(ds.y_test)
    sums = lambda p: metrics.split_metrics(  # noqa: E731
        steps.evaluate(p, x, y, spec=run.spec, batch_size=64), "test")["test_loss"]
    logged = rows[0][-1]["test_loss"]
    assert sums(run.params) == pytest.approx(logged, rel=1e-5)  # prediction reads what was evaluated
    tx = inputs.optimizer_for(inputs.resolve(cfg))
    abstract = jax.eval_shape(lambda: state_lib.init_state(cfg.seed, 1, run.spec, tx,
                                                           np.zeros((run.spec.rows, 8), np.float32)))
    _, state, _ = Checkpoints(str(tmp_path / "w" / "checkpoints"), read_only=True).restore_latest_good(abstract)
    assert abs(sums({**state.frozen, **state.params}) - logged) > 1e-4  # the raw weights score otherwise
