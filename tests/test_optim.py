"""--embedding_optimizer=lazy_adam: Adam on the batch's table rows only; dense Adam stays the default."""

import functools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngjax.model import network as model
from ngjax.train import optim
from ngjax.train import loop as train
from ngjax.config import Config, ConfigError, validate
from ngjax.train import state as state_lib
from ngjax.train import steps

SPEC = model.ModelSpec("lstm", rows=12, embed_dim=4, hidden_size=5, num_classes=3, trainable_embedding=True)


def _states(lr=1e-2, rule="keras"):
    dense_tx, lazy_tx = optim.build(lr, "adam", rule), optim.build(lr, "lazy_adam", rule)
    assert isinstance(lazy_tx, optim.LazyEmbeddingAdam) and not isinstance(dense_tx, optim.LazyEmbeddingAdam)
    return (state_lib.create_state(0, SPEC, dense_tx, None), dense_tx), (state_lib.create_state(0, SPEC, lazy_tx, None), lazy_tx)


def _step(tx):
    return jax.jit(functools.partial(steps.train_step, spec=SPEC, tx=tx))


def _all_rows_batch(seed):
    """tokens int32[4, 6] holding every id 0..11 (so every row is in the batch), labels int32[4]."""
    rng = np.random.default_rng(seed)
    ids = np.concatenate([np.arange(12), rng.integers(0, 12, 12)])
    return jnp.asarray(rng.permutation(ids).reshape(4, 6).astype(np.int32)), jnp.asarray(rng.integers(0, 3, 4).astype(np.int32))


def test_batch_rows_reindexes_the_batch():
    table = jnp.arange(12 * 3, dtype=jnp.float32).reshape(12, 3)
    tokens = jnp.asarray([[0, 0, 5, 7], [3, 5, 11, 0]], jnp.int32)
    ids, local = optim.batch_rows(tokens, 12)
    assert ids.shape == (9,) and local.shape == tokens.shape
    np.testing.assert_array_equal(table.at[ids].get(mode="fill", fill_value=0)[local], table[tokens])
    np.testing.assert_array_equal(local == 0, tokens == 0)  # padding keeps index 0 (--mask_padding)
    assert sorted(set(np.asarray(ids).tolist()) - {12}) == [0, 3, 5, 7, 11]
    no_pad = jnp.asarray([[4, 2], [2, 9]], jnp.int32)
    ids, local = optim.batch_rows(no_pad, 12)
    assert int(ids[0]) == 12 and not bool(jnp.any(local == 0))  # row 0 not in the batch: left alone
    np.testing.assert_array_equal(table.at[ids].get(mode="fill", fill_value=0)[local], table[no_pad])


@pytest.mark.parametrize("rule", ["keras", "optax"])
def test_lazy_equals_dense_adam_when_every_row_is_in_every_batch(rule):
    (dense, dtx), (lazy, ltx) = _states(rule=rule)
    dstep, lstep = _step(dtx), _step(ltx)
    for k in range(3):
        batch = _all_rows_batch(k)
        dense, ds = dstep(dense, batch)
        lazy, ls = lstep(lazy, batch)
        assert float(ds["loss_sum"]) == pytest.approx(float(ls["loss_sum"]), rel=1e-5)
    for a, b in zip(jax.tree_util.tree_leaves(dense.params), jax.tree_util.tree_leaves(lazy.params)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    dense_mu = dense.opt_state.mu if rule == "keras" else dense.opt_state[0].mu
    np.testing.assert_allclose(dense_mu["embedding"]["table"], lazy.opt_state["embedding"].mu,
                               rtol=1e-5, atol=1e-8)
    assert int(lazy.opt_state["embedding"].count) == 3


def test_lazy_adam_leaves_rows_outside_the_batch_alone():
    (dense, dtx), (lazy, ltx) = _states()
    dstep, lstep = _step(dtx), _step(ltx)
    first = _all_rows_batch(0)  # every row gets a gradient, so every row has momentum
    dense, _ = dstep(dense, first)
    lazy, _ = lstep(lazy, first)
    before_l, before_d = jax.device_get(lazy), jax.device_get(dense)
    tokens = jnp.asarray([[1, 2, 3], [3, 2, 1]], jnp.int32)  # rows 1-3 only, no padding
    dense, _ = dstep(dense, (tokens, jnp.asarray([0, 1], jnp.int32)))
    lazy, _ = lstep(lazy, (tokens, jnp.asarray([0, 1], jnp.int32)))
    absent, present = [0] + list(range(4, 12)), [1, 2, 3]
    t0, t1 = before_l.params["embedding"]["table"], np.asarray(lazy.params["embedding"]["table"])
    np.testing.assert_array_equal(t0[absent], t1[absent])
    for name in ("mu", "nu"):
        np.testing.assert_array_equal(getattr(before_l.opt_state["embedding"], name)[absent],
                                      np.asarray(getattr(lazy.opt_state["embedding"], name))[absent])
    assert not np.any(np.all(t0[present] == t1[present], axis=1))
    # dense Adam (the seed's) moves absent rows too, through their momentum: the two differ
    d0, d1 = before_d.params["embedding"]["table"], np.asarray(dense.params["embedding"]["table"])
    assert not np.any(np.all(d0[absent] == d1[absent], axis=1))


def test_lazy_adam_in_the_epoch_program_and_with_seeds(corpus_dir, tmp_path):
    base = dict(data_dir=corpus_dir, embeddings="random", embed_dim=8, seq_len=12, batch_size=8,
                epochs=2, embedding_optimizer="lazy_adam")
    s = train.train_and_evaluate(Config(seeds=2, **base), str(tmp_path / "many"), str(tmp_path / "c"), report=False)
    assert s["epochs"] == 2
    rows = [json.loads(line) for line in open(tmp_path / "many" / "metrics.jsonl")]
    assert rows[1]["train_loss"] < rows[0]["train_loss"]
    saved = json.load(open(tmp_path / "many" / "config.json"))
    assert saved["embedding_optimizer"] == "lazy_adam"
    # a different optimizer: resuming the workdir with dense Adam is refused
    from ngjax.errors import NgjaxError

    with pytest.raises(NgjaxError, match="embedding_optimizer"):
        train.train_and_evaluate(Config(seeds=2, **dict(base, epochs=3, embedding_optimizer="adam")),
                             str(tmp_path / "many"), str(tmp_path / "c"), report=False)
    assert os.path.isdir(tmp_path / "many" / "checkpoints" / "2")


def test_lazy_adam_flag_validation():
    validate(Config(embeddings="random", embedding_optimizer="lazy_adam"))
    with pytest.raises(ConfigError, match="--embedding_optimizer=lazy_adam .* --embeddings=random"):
        validate(Config(embedding_optimizer="lazy_adam"))
    with pytest.raises(ConfigError, match="--embedding_optimizer='sgd': allowed values are adam, lazy_adam"):
        validate(Config(embeddings="random", embedding_optimizer="sgd"))
