"""The model space beyond the seed: GRU, bidirectional and stacked layers, pooled heads, dropout,
Keras parameter counts, and padding that never shows."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngjax.model import cells, encoder, heads, network as model


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def numpy_gru_step(p, h, x):
    """Keras' GRU (reset_after=True) written out: gate order z, r, h; bias rows input, recurrent."""
    k, u, b = (np.asarray(p[n], np.float64) for n in ("kernel", "recurrent_kernel", "bias"))
    xz, xr, xh = np.split(x @ k + b[0], 3, axis=-1)
    rz, rr, rh = np.split(h @ u + b[1], 3, axis=-1)
    z, r = _sigmoid(xz + rz), _sigmoid(xr + rr)
    return z * h + (1 - z) * np.tanh(xh + r * rh)


def _gru_params(e, h, seed=0):
    p = model.init(jax.random.PRNGKey(seed), model.ModelSpec("gru", rows=5, embed_dim=e, hidden_size=h))["gru"]
    return dict(p, bias=jax.random.normal(jax.random.PRNGKey(seed + 9), p["bias"].shape))


def test_gru_cell_equals_numpy_and_flax_grucell():
    h, e, b = 4, 3, 2
    p = _gru_params(e, h)
    assert p["bias"].shape == (2, 3 * h)
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(2), (b, e)))
    h0 = np.asarray(jax.random.normal(jax.random.PRNGKey(3), (b, h)))
    (h1,), out = cells.step_raw("gru", p, (jnp.asarray(h0),), jnp.asarray(x))
    np.testing.assert_allclose(h1, numpy_gru_step(p, h0, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(h1, out)
    # flax's GRUCell has one recurrent bias (on the candidate); Keras' z and r recurrent biases
    # fold into flax's input biases
    k, u, bias = (np.asarray(p[n]) for n in ("kernel", "recurrent_kernel", "bias"))
    blk = lambda a, j: a[..., j * h:(j + 1) * h]  # noqa: E731
    fp = {"params": {
        "iz": {"kernel": blk(k, 0), "bias": blk(bias[0], 0) + blk(bias[1], 0)},
        "ir": {"kernel": blk(k, 1), "bias": blk(bias[0], 1) + blk(bias[1], 1)},
        "in": {"kernel": blk(k, 2), "bias": blk(bias[0], 2)},
        "hz": {"kernel": blk(u, 0)}, "hr": {"kernel": blk(u, 1)},
        "hn": {"kernel": blk(u, 2), "bias": blk(bias[1], 2)}}}
    fh, _ = nn.GRUCell(features=h).apply(fp, jnp.asarray(h0), jnp.asarray(x))
    np.testing.assert_allclose(h1, fh, rtol=1e-5, atol=1e-6)


KERAS_COUNTS = [
    # (spec kwargs, embedding dim, Keras' count of the recurrent layers)
    (dict(cell="gru"), 100, 11880),
    (dict(cell="gru"), 50, 7380),
    (dict(cell="lstm", bidirectional=True), 100, 31440),
    (dict(cell="lstm", num_layers=2), 100, 23040),
    (dict(cell="gru", bidirectional=True, hidden_size=64, pool="max"), 100, 63744),
]


@pytest.mark.parametrize("kw,dim,expected", KERAS_COUNTS)
def test_recurrent_counts_match_keras(kw, dim, expected):
    spec = model.ModelSpec(**{"rows": 40, "embed_dim": dim, "hidden_size": 30, "num_classes": 20, **kw})
    params = model.init(jax.random.PRNGKey(0), spec)
    stored = sum(x.size for k, v in params.items() if k not in ("embedding", "dense", "attention")
                 for x in jax.tree_util.tree_leaves(v))
    assert stored == expected == model.keras_param_counts(spec, 40)["recurrent"]


@pytest.mark.parametrize("kw,dim,expected", KERAS_COUNTS)
def test_recurrent_counts_equal_keras_itself(kw, dim, expected):
    keras = pytest.importorskip("keras")
    kw = {"hidden_size": 30, **kw}
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[kw["cell"]]
    stack = []
    for i in range(kw.get("num_layers", 1)):
        seqs = i < kw.get("num_layers", 1) - 1 or kw.get("pool", "last") != "last"
        one = layer(kw["hidden_size"], return_sequences=seqs)
        stack.append(keras.layers.Bidirectional(one) if kw.get("bidirectional") else one)
    m = keras.Sequential([keras.Input((7, dim)), *stack])
    assert m.count_params() == expected


def _spec(**kw):
    return model.ModelSpec(**{"cell": "gru", "rows": 20, "embed_dim": 6, "hidden_size": 5, "num_classes": 4,
                              "trainable_embedding": True, **kw})


@pytest.mark.parametrize("pool", ["last", "max", "mean", "maxmean", "attention"])
@pytest.mark.parametrize("cell,layers", [("gru", 1), ("lstm", 2), ("rnn", 1)])
def test_padding_side_never_shows_bidirectional(pool, cell, layers):
    spec = _spec(cell=cell, bidirectional=True, pool=pool, num_layers=layers)
    params = model.init(jax.random.PRNGKey(0), spec)
    doc = [3, 9, 4, 17, 2]
    unpadded = jnp.array([doc])
    pre = jnp.array([[0, 0, 0] + doc])
    post = jnp.array([doc + [0, 0, 0]])
    want = model.apply(params, unpadded, spec)
    for padded in (pre, post):
        np.testing.assert_allclose(model.features(params, padded, spec), model.features(params, unpadded, spec),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(model.apply(params, padded, spec), want, rtol=1e-5, atol=1e-6)


def test_backward_direction_reads_the_document_reversed():
    """The backward half of a bidirectional last state equals a forward pass over the reversed document."""
    spec = _spec(bidirectional=True)
    params = model.init(jax.random.PRNGKey(1), spec)
    doc = jnp.array([[3, 9, 4, 17, 2]])
    both = model.features(params, jnp.concatenate([doc, jnp.zeros((1, 2), jnp.int32)], axis=1), spec)
    one = _spec(mask_padding=True)
    fwd = {"embedding": params["embedding"], "gru": params["gru"]["forward"], "dense": params["dense"]}
    bwd = dict(fwd, gru=params["gru"]["backward"])
    np.testing.assert_allclose(both[:, :5], model.features(fwd, doc, one), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(both[:, 5:], model.features(bwd, doc[:, ::-1], one), rtol=1e-5, atol=1e-6)


def test_pooling_ignores_padding():
    seq = jnp.array([[[1.0, -2.0], [3.0, 0.5], [100.0, 100.0]]])  # the last position is padding
    mask = jnp.array([[True, True, False]])
    np.testing.assert_allclose(heads.pool("max", seq, mask, {}), [[3.0, 0.5]])
    np.testing.assert_allclose(heads.pool("mean", seq, mask, {}), [[2.0, -0.75]])
    att = heads.init_attention(jax.random.PRNGKey(0), 2)
    w = heads.attention_weights(att, seq, mask)
    assert float(w[0, 2]) == 0.0 and float(w.sum()) == pytest.approx(1.0)
    out = heads.pool("attention", seq, mask, {"attention": att})
    np.testing.assert_allclose(out, w[:, :2, None].__mul__(seq[:, :2]).sum(1), rtol=1e-6)
    np.testing.assert_allclose(heads.pool("maxmean", seq, mask, {}), [[3.0, 0.5, 2.0, -0.75]])
    empty = jnp.array([[False, False, False]])
    for kind in ("max", "mean", "maxmean", "attention"):  # a document with no known word pools to zeros
        width = heads.pooled_features(kind, 2)
        np.testing.assert_array_equal(heads.pool(kind, seq, empty, {"attention": att}), [[0.0] * width])


def test_maxmean_head_reads_twice_the_features_and_counts_as_keras_would():
    spec = _spec(bidirectional=True, pool="maxmean")
    params = model.init(jax.random.PRNGKey(0), spec)
    assert spec.head_features == 2 * spec.features and params["dense"]["kernel"].shape == (2 * spec.features, 4)
    counts = model.keras_param_counts(spec, 20)
    assert counts["dense"] == 2 * spec.features * 4 + 4  # Keras: Concatenate([GlobalMax, GlobalAverage]) -> Dense
    tokens = jax.random.randint(jax.random.PRNGKey(1), (3, 7), 1, 20)
    h = model.features(params, tokens, spec)
    seq, mask = encoder.encode(params, tokens, spec)
    np.testing.assert_allclose(h, jnp.concatenate([seq.max(1), seq.mean(1)], -1), rtol=1e-6, atol=1e-6)


def test_pool_embeddings_pools_the_real_words_vectors_beside_the_recurrent_outputs():
    """--pool_embeddings: the head reads [max(outputs), max(words), mean(outputs), mean(words)] over
    the real tokens only; the dense layer (and Keras' count) grows by the pooled word vectors."""
    plain = _spec(bidirectional=True, pool="maxmean")
    spec = _spec(bidirectional=True, pool="maxmean", pool_embeddings=True)
    params = model.init(jax.random.PRNGKey(0), spec)
    width = 2 * (spec.features + spec.embed_dim)
    assert spec.head_features == width and params["dense"]["kernel"].shape == (width, 4)
    assert model.keras_param_counts(spec, 20)["dense"] == width * 4 + 4
    assert f"maxmean_pool (+words)       (None, {width})" in model.summary_table(spec, 7, 20)
    doc = [3, 9, 4, 17, 2]
    tokens = jnp.array([doc + [0, 0], [0, 0] + doc[::-1]])  # post- and pre-padded
    h = model.features(params, tokens, spec)
    rnn = {k: v for k, v in params.items() if k != "dense"}
    seq, _ = encoder.encode(rnn, tokens, plain)
    words = np.asarray(params["embedding"]["table"])[np.array([doc, doc[::-1]])]  # [2, 5, E], no padding
    real = np.asarray(seq)[[[0], [1]], [[0, 1, 2, 3, 4], [2, 3, 4, 5, 6]]]  # the outputs at the real tokens
    want = np.concatenate([real.max(1), words.max(1), real.mean(1), words.mean(1)], -1)
    np.testing.assert_allclose(h, want, rtol=1e-5, atol=1e-6)
    for pool in ("max", "mean", "attention"):  # every pooled head takes it; the padding side never shows
        s = _spec(bidirectional=True, pool=pool, pool_embeddings=True)
        p = model.init(jax.random.PRNGKey(2), s)
        np.testing.assert_allclose(model.apply(p, tokens[:1], s), model.apply(p, jnp.array([doc]), s),
                                   rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="needs a pooled head"):  # a spec built by hand is checked too
        _spec(bidirectional=True, pool="last", pool_embeddings=True)


def test_dropout_is_off_without_a_key_and_differs_between_keys():
    spec = _spec(bidirectional=True, pool="max", dropout=0.5, embed_dropout=0.3)
    params = model.init(jax.random.PRNGKey(0), spec)
    tokens = jax.random.randint(jax.random.PRNGKey(1), (4, 9), 0, 20)
    plain = _spec(bidirectional=True, pool="max")
    np.testing.assert_array_equal(model.apply(params, tokens, spec), model.apply(params, tokens, plain))
    a = model.apply(params, tokens, spec, jax.random.PRNGKey(5))
    b = model.apply(params, tokens, spec, jax.random.PRNGKey(6))
    assert not np.allclose(a, b) and not np.allclose(a, model.apply(params, tokens, spec))
    np.testing.assert_array_equal(a, model.apply(params, tokens, spec, jax.random.PRNGKey(5)))
    x = jnp.ones((3, 7, 4))
    dropped = encoder.dropout(jax.random.PRNGKey(0), x, 0.5, (3, 7, 1))
    kept = np.asarray(dropped[..., 0] != 0)
    assert np.all(np.asarray(dropped)[kept] == 2.0)  # whole word vectors kept (scaled) or zero
    assert np.all(np.asarray(dropped)[~kept] == 0.0) and 0 < kept.sum() < kept.size


def test_bidirectional_gru_equals_keras_forward():
    keras = pytest.importorskip("keras")
    spec = _spec(bidirectional=True)
    params = model.init(jax.random.PRNGKey(3), spec)
    params["gru"] = jax.tree_util.tree_map(lambda a: a + 0.1 * jax.random.normal(jax.random.PRNGKey(4), a.shape),
                                           params["gru"])  # non-zero biases
    tokens = np.array([[5, 3, 9, 0, 0, 0], [0, 0, 7, 1, 2, 19], [4, 4, 4, 4, 4, 4]], np.int32)
    emb = keras.layers.Embedding(20, 6, mask_zero=True)
    rnn = keras.layers.Bidirectional(keras.layers.GRU(5))
    m = keras.Sequential([keras.Input((6,), dtype="int32"), emb, rnn,
                          keras.layers.Dense(4, activation="softmax")])
    emb.set_weights([np.asarray(params["embedding"]["table"])])
    g = params["gru"]
    rnn.set_weights([np.asarray(g[d][n]) for d in ("forward", "backward")
                     for n in ("kernel", "recurrent_kernel", "bias")])
    m.layers[-1].set_weights([np.asarray(params["dense"]["kernel"]), np.asarray(params["dense"]["bias"])])
    want = np.asarray(m(tokens))
    got = np.asarray(jax.nn.softmax(model.apply(params, jnp.asarray(tokens), spec)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_summary_lists_every_layer():
    spec = _spec(bidirectional=True, num_layers=2, pool="attention")
    text = model.summary_table(spec, 9, 20)
    assert "gru (Bidirectional(GRU))" in text and "gru_1 (Bidirectional(GRU))" in text
    assert "attention_pool" in text and "(None, 9, 10)" in text
    counts = model.keras_param_counts(spec, 20)
    assert f"Total params: {counts['total']:,}" in text
    assert counts["total"] == sum(x.size for x in jax.tree_util.tree_leaves(model.init(jax.random.PRNGKey(0), spec)))
