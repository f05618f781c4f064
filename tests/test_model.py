"""Model: Keras parameter counts, cells against Flax's and a NumPy step, padding mask, shapes."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngjax.model import network as model
from ngjax.model import cells


@pytest.mark.parametrize("cell,dim,expected", [
    ("lstm", 100, 15720), ("rnn", 100, 3930), ("lstm", 50, 9720), ("rnn", 50, 2430),
    ("lstm", 200, 27720),
])
def test_recurrent_param_counts_match_keras(cell, dim, expected):
    spec = model.ModelSpec(cell=cell, rows=50, embed_dim=dim, hidden_size=30, num_classes=20)
    params = model.init(jax.random.PRNGKey(0), spec)
    n = sum(x.size for x in jax.tree_util.tree_leaves(params[cell]))
    assert n == expected == cells.param_count(cell, dim, 30)
    assert sum(x.size for x in jax.tree_util.tree_leaves(params["dense"])) == 620


def test_keras_totals_match_the_seed_with_its_vocabulary():
    # the seed's embedding has 134,143 rows (vocab + 1) at 100 d
    lstm = model.keras_param_counts(model.ModelSpec("lstm", embed_dim=100, num_classes=20), 134143)
    rnn = model.keras_param_counts(model.ModelSpec("rnn", embed_dim=100, num_classes=20), 134143)
    dim200 = model.keras_param_counts(model.ModelSpec("lstm", embed_dim=200, num_classes=20), 134143)
    assert lstm["total"] == 13430640 and rnn["total"] == 13418850 and dim200["total"] == 26856940
    assert lstm["trainable"] == 16340
    rand = model.keras_param_counts(model.ModelSpec("lstm", embed_dim=100, num_classes=20,
                                            trainable_embedding=True), 134143)
    assert rand["trainable"] == 13430640


def test_keras_initialisers():
    spec = model.ModelSpec("lstm", rows=10, embed_dim=6, hidden_size=5, num_classes=3)
    p = model.init(jax.random.PRNGKey(1), spec)["lstm"]
    np.testing.assert_array_equal(p["bias"], [0] * 5 + [1] * 5 + [0] * 10)  # unit forget bias
    u = np.asarray(p["recurrent_kernel"])  # [5, 20]: orthonormal rows
    np.testing.assert_allclose(u @ u.T, np.eye(5), atol=1e-5)
    limit = np.sqrt(6 / (6 + 20))
    assert np.abs(p["kernel"]).max() <= limit
    emb = model.init(jax.random.PRNGKey(1), spec)["embedding"]["table"]
    assert float(jnp.abs(emb).max()) <= 0.05  # random embedding: uniform(-0.05, 0.05)


def _flax_lstm_params(p, h):
    k, u, b = (np.asarray(p[n]) for n in ("kernel", "recurrent_kernel", "bias"))
    out = {}
    for j, g in enumerate("ifgo"):
        sl = slice(j * h, (j + 1) * h)
        out[f"i{g}"] = {"kernel": k[:, sl]}
        out[f"h{g}"] = {"kernel": u[:, sl], "bias": b[sl]}
    return {"params": out}


def test_lstm_cell_equals_flax_lstmcell():
    h, e, b = 4, 3, 2
    spec = model.ModelSpec("lstm", rows=5, embed_dim=e, hidden_size=h)
    p = model.init(jax.random.PRNGKey(0), spec)["lstm"]
    p = dict(p, bias=jax.random.normal(jax.random.PRNGKey(9), p["bias"].shape))
    x = jax.random.normal(jax.random.PRNGKey(2), (b, e))
    hc = jax.random.normal(jax.random.PRNGKey(3), (2, b, h))
    (h1, c1), out = cells.step_raw("lstm", p, (hc[0], hc[1]), x)
    (fc, fh), fout = nn.LSTMCell(features=h).apply(_flax_lstm_params(p, h), (hc[1], hc[0]), x)
    np.testing.assert_allclose(h1, fh, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c1, fc, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, fout, rtol=1e-5, atol=1e-6)


def test_rnn_cell_equals_flax_simplecell():
    h, e, b = 4, 3, 2
    p = model.init(jax.random.PRNGKey(0), model.ModelSpec("rnn", rows=5, embed_dim=e, hidden_size=h))["rnn"]
    p = dict(p, bias=jnp.arange(h, dtype=jnp.float32) / 10)
    x = jax.random.normal(jax.random.PRNGKey(2), (b, e))
    h0 = jax.random.normal(jax.random.PRNGKey(3), (b, h))
    (h1,), _ = cells.step_raw("rnn", p, (h0,), x)
    fp = {"params": {"i": {"kernel": p["kernel"], "bias": p["bias"]}, "h": {"kernel": p["recurrent_kernel"]}}}
    fh, _ = nn.SimpleCell(features=h).apply(fp, h0, x)
    np.testing.assert_allclose(h1, fh, rtol=1e-5, atol=1e-6)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _numpy_lstm(params, tokens):
    """The Keras LSTM written out in NumPy, step by step, gate order i, f, c, o."""
    p = {k: np.asarray(v, np.float64) for k, v in params["lstm"].items()}
    emb = np.asarray(params["embedding"]["table"], np.float64)[tokens]
    n, t, _ = emb.shape
    hdim = p["recurrent_kernel"].shape[0]
    h, c = np.zeros((n, hdim)), np.zeros((n, hdim))
    for s in range(t):
        z = emb[:, s] @ p["kernel"] + h @ p["recurrent_kernel"] + p["bias"]
        i, f, g, o = np.split(z, 4, axis=-1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
    d = {k: np.asarray(v, np.float64) for k, v in params["dense"].items()}
    return h @ d["kernel"] + d["bias"]


def test_apply_equals_numpy_lstm_and_shapes():
    spec = model.ModelSpec("lstm", rows=12, embed_dim=5, hidden_size=4, num_classes=3)
    params = model.init(jax.random.PRNGKey(0), spec)
    tokens = jax.random.randint(jax.random.PRNGKey(1), (6, 7), 0, 12)
    logits = model.apply(params, tokens, spec)
    assert logits.shape == (6, 3) and logits.dtype == jnp.float32
    np.testing.assert_allclose(logits, _numpy_lstm(params, np.asarray(tokens)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_mask_padding_makes_pre_padding_invisible(cell):
    spec = model.ModelSpec(cell, rows=10, embed_dim=4, hidden_size=3, num_classes=2, mask_padding=True,
                       trainable_embedding=True)
    params = model.init(jax.random.PRNGKey(0), spec)
    short = jnp.array([[3, 5, 7]])
    padded = jnp.array([[0, 0, 0, 0, 3, 5, 7]])
    np.testing.assert_allclose(model.apply(params, padded, spec), model.apply(params, short, spec), rtol=1e-6)
    unmasked = model.ModelSpec(cell, rows=10, embed_dim=4, hidden_size=3, num_classes=2,
                           trainable_embedding=True)
    # without the mask (the seed's behaviour) the padded steps do change the output
    assert not np.allclose(model.apply(params, padded, unmasked), model.apply(params, short, unmasked))


@pytest.mark.parametrize("unroll", [1, 3, 7])
def test_unroll_does_not_change_outputs(unroll):
    base = model.ModelSpec("lstm", rows=10, embed_dim=4, hidden_size=3, num_classes=2)
    params = model.init(jax.random.PRNGKey(0), base)
    tokens = jax.random.randint(jax.random.PRNGKey(1), (4, 7), 0, 10)
    spec = model.ModelSpec("lstm", rows=10, embed_dim=4, hidden_size=3, num_classes=2, unroll=unroll)
    np.testing.assert_allclose(model.apply(params, tokens, spec), model.apply(params, tokens, base), rtol=1e-5)


def test_summary_table_lists_layers_and_totals():
    text = model.summary_table(model.ModelSpec("lstm", embed_dim=100, num_classes=20), 30, 134143)
    assert "13,430,640" in text and "15,720" in text and "620" in text and "(None, 30, 100)" in text
