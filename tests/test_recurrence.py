"""--manual_backward: the hand-written backward pass of the masked recurrence (ngjax.model.recurrence)
gives jax.grad's gradients, for every cell, one or two directions, pooled or last-state heads,
stacked layers and documents padded on either side."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngjax.train import buckets, steps
from ngjax.model import cells, encoder, network as model, recurrence
from ngjax.config import Config, ConfigError, validate
from ngjax.train.inputs import spec_for


def _tokens():
    rng = np.random.default_rng(0)
    rows = []
    for i, n in enumerate([9, 4, 1, 0, 7, 3]):  # lengths, one empty document
        doc = list(rng.integers(1, 30, n))
        pad = [0] * (9 - n)
        rows.append(pad + doc if i % 2 else doc + pad)  # pre and post padding side by side
    return jnp.asarray(rows, jnp.int32)


def _loss(spec, tokens, labels):
    def loss(params):
        logits = model.apply(params, tokens, spec)
        return -jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1).mean()
    return loss


@pytest.mark.parametrize("cell", sorted(cells.CELLS))  # a new cell is checked here once it exists
@pytest.mark.parametrize("bidirectional,pool,layers", [(True, "max", 1), (True, "last", 1), (False, "mean", 1),
                                                        (False, "last", 1), (True, "attention", 2)])
def test_manual_backward_gives_autodiffs_outputs_and_gradients(cell, bidirectional, pool, layers):
    auto = model.ModelSpec(cell, rows=30, embed_dim=5, hidden_size=4, num_classes=3, mask_padding=True,
                           bidirectional=bidirectional, pool=pool, num_layers=layers, trainable_embedding=True)
    manual = dataclasses.replace(auto, manual_backward=True)
    params = model.init(jax.random.PRNGKey(3), auto)
    tokens, labels = _tokens(), jnp.asarray([0, 1, 2, 0, 1, 2])
    np.testing.assert_allclose(model.apply(params, tokens, manual), model.apply(params, tokens, auto),
                               rtol=1e-5, atol=1e-6)
    (l_m, g_m), (l_a, g_a) = (jax.value_and_grad(_loss(s, tokens, labels))(params) for s in (manual, auto))
    np.testing.assert_allclose(l_m, l_a, rtol=1e-6)
    flat_m, flat_a = jax.tree_util.tree_leaves_with_path(g_m), jax.tree_util.tree_leaves(g_a)
    for (path, a), b in zip(flat_m, flat_a):
        assert float(jnp.abs(b).max()) > 0 or "bias" in jax.tree_util.keystr(path)  # the test sees real gradients
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=jax.tree_util.keystr(path))
    # and the flag really swaps the backward pass (the gradients above would agree if it were ignored)
    assert "custom_vjp_call" in str(jax.make_jaxpr(_loss(manual, tokens, labels))(params))
    assert "custom_vjp_call" not in str(jax.make_jaxpr(_loss(auto, tokens, labels))(params))


@pytest.mark.parametrize("embed_dim", [16, 21])  # the input's gradient: the kernel as it is, and zero-padded to 32 rows
def test_manual_backward_with_inputs_a_multiple_of_16_wide_or_not(embed_dim):
    auto = model.ModelSpec("lstm", rows=30, embed_dim=embed_dim, hidden_size=4, num_classes=3, bidirectional=True,
                           pool="max", trainable_embedding=True)
    manual = dataclasses.replace(auto, manual_backward=True)
    params = model.init(jax.random.PRNGKey(1), auto)
    tokens, labels = _tokens(), jnp.asarray([0, 1, 2, 0, 1, 2])
    g_m, g_a = (jax.grad(_loss(s, tokens, labels))(params) for s in (manual, auto))
    assert g_m["embedding"]["table"].shape == (30, embed_dim)  # the padding never reaches the parameters
    for a, b in zip(jax.tree_util.tree_leaves(g_m), jax.tree_util.tree_leaves(g_a)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_scan_keeps_the_carry_on_padding_and_returns_every_state():
    k = jax.random.split(jax.random.PRNGKey(0), 3)
    U = jax.random.normal(k[0], (2, 3, 9)) * 0.3
    b = jax.random.normal(k[1], (2, 2, 9)) * 0.1  # GRU: input and recurrent bias rows
    xw = jax.random.normal(k[2], (2, 5, 1, 9))  # direction-major: [D, T, B, G*H]
    m = jnp.asarray([1, 1, 0, 0, 1], bool)[None, :, None, None] * jnp.ones((2, 5, 1, 1), bool)
    ys = recurrence.scan("gru", U, b, xw, m)
    assert ys.shape == (2, 5, 1, 3)
    np.testing.assert_array_equal(ys[:, 2], ys[:, 1])  # padding: the state passes through unchanged
    np.testing.assert_array_equal(ys[:, 3], ys[:, 1])
    assert not np.allclose(ys[:, 4], ys[:, 3])
    assert not np.allclose(ys[0], ys[1])  # each direction its own kernel


@pytest.mark.parametrize("cell", ["gru", "lstm"])  # two state buffers, and a separate d_rec buffer
def test_scan_in_reverse_reads_time_backward_and_returns_states_in_time_order(cell):
    """reverse=1 (as --shard=directions' backward device passes it, known only when traced) equals the
    scan over time-reversed inputs with its states reversed back: values and gradients. The time
    indexing is the loops', shared by every cell."""
    G = cells.CELLS[cell].gates
    k = jax.random.split(jax.random.PRNGKey(2), 4)
    U = jax.random.normal(k[0], (1, 3, G * 3)) * 0.4
    b = jax.random.normal(k[1], (1, 2, G * 3) if cells.CELLS[cell].bias_rows == 2 else (1, G * 3)) * 0.1
    xw = jax.random.normal(k[2], (1, 6, 2, G * 3))
    m = jnp.asarray([[1, 1, 1, 1, 0, 0], [0, 1, 1, 1, 1, 1]], bool).T[None, :, :, None]  # post / pre padded
    w = jax.random.normal(k[3], (1, 6, 2, 3))  # weights each state's gradient differently

    def loss(U, b, xw, reverse):
        return (recurrence.scan(cell, U, b, xw, m, 1, reverse) * w).sum()

    def flipped(U, b, xw):
        return (recurrence.scan(cell, U, b, xw[:, ::-1], m[:, ::-1])[:, ::-1] * w).sum()

    grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))
    (l_r, g_r), (l_f, g_f) = grad(U, b, xw, jnp.int32(1)), jax.value_and_grad(flipped, argnums=(0, 1, 2))(U, b, xw)
    np.testing.assert_allclose(l_r, l_f, rtol=1e-6)
    for a, c in zip(g_r, g_f):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)
    (l_0, g_0) = grad(U, b, xw, jnp.int32(0))  # the same program reads forward when told to
    np.testing.assert_allclose(l_0, loss(U, b, xw, 0), rtol=1e-6)
    assert not np.allclose(l_0, l_r)
    ys = recurrence.scan(cell, U, b, xw, m, 1, 1)
    np.testing.assert_array_equal(ys[0, 4:, 0], 0)  # post padding, read first: the state stays zero
    assert np.abs(ys[0, :4, 0]).min() > 0


def test_project_gives_autodiffs_gradients():
    k = jax.random.split(jax.random.PRNGKey(5), 3)
    x, kernel, w = (jax.random.normal(k[0], (2, 7, 21)), jax.random.normal(k[1], (2, 21, 12)),
                    jax.random.normal(k[2], (2, 7, 12)))
    ours = jax.grad(lambda x, k: (recurrence.project(x, k) * w).sum(), argnums=(0, 1))(x, kernel)
    auto = jax.grad(lambda x, k: (jnp.einsum("dne,deg->dng", x, k) * w).sum(), argnums=(0, 1))(x, kernel)
    assert ours[0].shape == x.shape and ours[1].shape == kernel.shape
    for a, c in zip(ours, auto):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5)


def test_manual_backward_needs_a_masked_model_and_reaches_the_spec():
    for choice in ("manual", "distinct"):
        with pytest.raises(ConfigError, match=f"--recurrence={choice}.*--mask_padding"):
            validate(Config(recurrence=choice))
        cfg = validate(Config(cell="gru", bidirectional=True, pool="max", recurrence=choice))
        assert spec_for(cfg, rows=10, num_classes=20).manual_backward
    assert spec_for(validate(Config(cell="gru", bidirectional=True)), rows=10, num_classes=20).manual_backward  # auto
    assert not spec_for(validate(Config(cell="gru", bidirectional=True, recurrence="autodiff")), rows=10,
                        num_classes=20).manual_backward
    assert not spec_for(validate(Config(cell="gru")), rows=10, num_classes=20).manual_backward  # unmasked: auto


def test_manual_backward_under_vmap_as_seeds_replicas_train():
    """--seeds=K vmaps the train step over replicas: the custom backward pass batches too."""
    auto = model.ModelSpec("lstm", rows=30, embed_dim=5, hidden_size=4, num_classes=3, bidirectional=True,
                           pool="max", trainable_embedding=True)
    manual = dataclasses.replace(auto, manual_backward=True)
    replicas = jax.vmap(lambda k: model.init(k, auto))(jax.random.split(jax.random.PRNGKey(0), 3))
    tokens, labels = _tokens(), jnp.asarray([0, 1, 2, 0, 1, 2])
    g_m, g_a = (jax.vmap(jax.grad(_loss(s, tokens, labels)))(replicas) for s in (manual, auto))
    for a, b in zip(jax.tree_util.tree_leaves(g_m), jax.tree_util.tree_leaves(g_a)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert not np.allclose(g_m["lstm"]["forward"]["recurrent_kernel"][0], g_m["lstm"]["forward"]["recurrent_kernel"][1])


def test_distinct_lists_a_batchs_words_and_where_each_token_is():
    tokens = jnp.asarray([[5, 3, 0, 0], [3, 9, 9, 5]], jnp.int32)
    words, where, count = encoder.distinct(tokens, 6, rows=12)
    assert int(count) == 4 and words.tolist() == [0, 3, 5, 9, 0, 0]  # ascending, then filler
    np.testing.assert_array_equal(words[where], tokens)
    _, where, count = encoder.distinct(tokens, 2, rows=12)  # more words than the bound: counted, not hidden
    assert int(count) == 4 and int(where.max()) == 3


@pytest.mark.parametrize("bidirectional,pool,layers,words", [(True, "max", 1, False), (False, "mean", 2, False),
                                                             (True, "attention", 1, True)])
def test_distinct_words_give_the_per_token_outputs_and_gradients(bidirectional, pool, layers, words):
    """--distinct_words: each distinct word projected once, gathered back per token; with word dropout on.
    A bound below the batch's distinct words takes the per-token path: then the very same numbers."""
    spec = model.ModelSpec("lstm", rows=30, embed_dim=5, hidden_size=4, num_classes=3, bidirectional=bidirectional,
                           pool=pool, num_layers=layers, pool_embeddings=words, trainable_embedding=True,
                           manual_backward=True, embed_dropout=0.3)
    params = model.init(jax.random.PRNGKey(3), spec)
    tokens, labels = _tokens(), jnp.asarray([0, 1, 2, 0, 1, 2])
    n = len(np.unique(np.asarray(tokens)))

    def run(s):
        def loss(p):
            logits = model.apply(p, tokens, s, jax.random.PRNGKey(7))
            return -jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1).mean()
        return jax.jit(jax.value_and_grad(loss))(params)

    per_token = run(spec)
    fast, fallback = (run(dataclasses.replace(spec, distinct_words=((6, 9, bound),))) for bound in (n + 3, n - 1))
    for a, b in zip(jax.tree_util.tree_leaves(fast), jax.tree_util.tree_leaves(per_token)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    for a, b in zip(jax.tree_util.tree_leaves(fallback), jax.tree_util.tree_leaves(per_token)):
        np.testing.assert_array_equal(a, b)
    assert float(jnp.abs(fast[1]["embedding"]["table"]).max()) > 0
    # the fast path really projects the distinct words: a [U, E] @ [E, G*H] product with U = the bound
    jaxpr = str(jax.make_jaxpr(lambda p: model.apply(p, tokens, dataclasses.replace(
        spec, distinct_words=((6, 9, n + 3),))))(params))
    assert f"f32[1,{n + 3},5]" in jaxpr or f"f32[2,{n + 3},5]" in jaxpr
    assert "cond" in jaxpr


def test_distinct_bounds_cover_the_sampled_batches_and_merge_shared_lengths():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 51, (96, 64)).astype(np.int32)  # 50 words: batches repeat them
    x[:24, 10:] = 0  # a bucket of 10-token documents (length 16), then three buckets at the full 64
    order, plan = buckets.plan(x, 8, 4)
    assert [length for _, _, length in plan] == [16, 64, 64, 64]
    # 1.25 x at most 51 ids (50 words and the padding 0), up to a multiple of 64: one bound for the
    # three buckets at 64
    assert buckets.distinct_bounds(x, 8, order, plan) == ((8, 16, 64), (8, 64, 64))
    assert buckets.distinct_bounds(x, 8) == ((8, 64, 64),)  # unbucketed: the one shape [8, 64]
    x[24:] = rng.integers(1, 20000, (72, 64))  # words rarely repeat: a bound would not be below the
    assert buckets.distinct_bounds(x, 8, order, plan) == ((8, 16, 64),)  # 512 positions, none listed


def test_distinct_words_need_one_replica_and_reach_the_plans():
    with pytest.raises(ConfigError, match="--recurrence=distinct.*--seeds>1"):
        validate(Config(bidirectional=True, pool="max", recurrence="distinct", seeds=2))
    cfg = validate(Config(bidirectional=True, pool="max", recurrence="distinct", length_buckets=2))

    class Data:
        x_train = np.asarray(_tokens()).repeat(20, axis=0)
        x_test = x_train
        x_val = None
    plans = steps.bucket_plans(Data, cfg.replace(batch_size=8))
    assert plans["distinct"] and all(b == 8 for b, _, _ in plans["distinct"])
    assert "distinct" not in steps.bucket_plans(Data, cfg.replace(recurrence="manual", batch_size=8))
