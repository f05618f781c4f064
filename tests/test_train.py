"""Training: one jitted step, learning, epoch program == step loop, no recompiles, NaN guard."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngjax.model import network as model
from ngjax.train import state as state_lib
from ngjax.train import optim
from ngjax.train import metrics
from ngjax.train import steps

SPEC = model.ModelSpec("lstm", rows=30, embed_dim=6, hidden_size=5, num_classes=3)


def _data(n=70, t=8, seed=0):
    """A learnable task: the class is which of three token ranges dominates."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n).astype(np.int32)
    x = (1 + y[:, None] * 9 + rng.integers(0, 9, (n, t))).astype(np.int32)
    x[rng.random((n, t)) < 0.3] = 0
    return jnp.asarray(x), jnp.asarray(y)


def _state(spec=SPEC, seed=0, lr=1e-2):
    table = np.random.default_rng(1).normal(size=(spec.rows, spec.embed_dim)).astype(np.float32)
    tx = optim.build(lr)
    return state_lib.create_state(seed, spec, tx, table), tx


@pytest.mark.parametrize("trainable", [False, True])
def test_one_jitted_step_changes_every_trainable_param_and_no_frozen(trainable):
    spec = model.ModelSpec("lstm", rows=30, embed_dim=6, hidden_size=5, num_classes=3,
                       trainable_embedding=trainable)
    state, tx = _state(spec)
    before = jax.device_get(state)
    x, y = _data()
    step = jax.jit(functools.partial(steps.train_step, spec=spec, tx=tx), donate_argnums=0)
    after, sums = step(state, (x[:32], y[:32]))
    assert int(after.step) == 1 and float(sums["count"]) == 32
    for path, (a, b) in zip(jax.tree_util.tree_leaves_with_path(before.params),
                            zip(jax.tree_util.tree_leaves(before.params),
                                jax.tree_util.tree_leaves(after.params))):
        if "table" in jax.tree_util.keystr(path[0]):
            continue
        assert not np.array_equal(a, np.asarray(b)), f"{path[0]} did not change"
    if trainable:
        assert "embedding" in after.params and after.frozen == {}
        tbl_before, tbl_after = before.params["embedding"]["table"], np.asarray(after.params["embedding"]["table"])
        used = np.unique(np.asarray(x[:32]))
        assert not np.array_equal(tbl_before[used], tbl_after[used])
    else:
        assert "embedding" not in after.params  # frozen: no gradient, no optimizer state
        assert "embedding" not in jax.tree_util.keystr(jax.tree_util.tree_leaves_with_path(after.opt_state)[0][0])
        np.testing.assert_array_equal(before.frozen["embedding"]["table"], after.frozen["embedding"]["table"])


def test_loss_falls_on_a_learnable_task():
    state, tx = _state()
    x, y = _data()
    epoch = jax.jit(functools.partial(steps.train_epoch, spec=SPEC, tx=tx, batch_size=16), donate_argnums=0)
    losses = []
    for _ in range(15):
        state, sums = epoch(state, x, y)
        losses.append(metrics.split_metrics(sums, "train")["train_loss"])
    assert losses[-1] < 0.5 * losses[0]
    ev = metrics.split_metrics(steps.evaluate({**state.frozen, **state.params}, x, y, spec=SPEC, batch_size=32), "test")
    assert ev["test_accuracy"] > 0.9


def test_epoch_program_equals_step_loop_with_keras_last_batch():
    x, y = _data(n=70)  # 70 = 4 * 16 + 6: a smaller last batch, as Keras does
    s1, tx = _state()
    s2, _ = _state()
    fast = jax.jit(functools.partial(steps.train_epoch, spec=SPEC, tx=tx, batch_size=16))
    for _ in range(2):
        s1, m1 = fast(s1, x, y)
        s2, m2 = steps.train_epoch_stepwise(s2, x, y, spec=SPEC, tx=tx, batch_size=16)
    assert int(s1.step) == int(s2.step) == 10 and int(s1.epoch) == 2
    assert float(m1["count"]) == float(m2["count"]) == 70
    for a, b in zip(jax.tree_util.tree_leaves(s1.params), jax.tree_util.tree_leaves(s2.params)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m1["loss_sum"], m2["loss_sum"], rtol=1e-5)


def test_epochs_draw_different_permutations_from_seed_and_epoch():
    key = jax.random.PRNGKey(0)
    p0, p1 = (np.asarray(steps.epoch_permutation(key, e, 50)) for e in (0, 1))
    assert sorted(p0) == list(range(50)) and not np.array_equal(p0, p1)
    np.testing.assert_array_equal(p0, steps.epoch_permutation(key, 0, 50))


def test_epoch_program_is_traced_once():
    state, tx = _state()
    x, y = _data()
    traces = []

    def counted(*a, **k):
        traces.append(1)
        return steps.train_epoch(*a, **k)

    epoch = jax.jit(functools.partial(counted, spec=SPEC, tx=tx, batch_size=16), donate_argnums=0)
    for _ in range(3):
        state, _ = epoch(state, x, y)
    assert len(traces) == 1


def test_evaluate_handles_ragged_last_chunk():
    state, _ = _state()
    x, y = _data(n=70)
    params = {**state.frozen, **state.params}
    a = metrics.split_metrics(steps.evaluate(params, x, y, spec=SPEC, batch_size=32), "t")
    b = metrics.split_metrics(steps.evaluate(params, x, y, spec=SPEC, batch_size=70), "t")
    assert a["t_loss"] == pytest.approx(b["t_loss"], rel=1e-5)
    assert a["t_accuracy"] == pytest.approx(b["t_accuracy"])
