"""--dtype=bfloat16: the matmuls, activations and recurrent states in bfloat16; the parameters, Adam's
state, the logits, the loss and the metrics in float32. A short run stays within a stated tolerance of
float32; checkpoints restore across dtypes (--restore_from); resuming a run with another dtype is
refused with one line."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import run_main

from ngjax.config import Config, ConfigError, validate
from ngjax.model import network
from ngjax.train import loop as train

CORNERS = {
    "seed_lstm": dict(cell="lstm"),
    "rnn_max": dict(cell="rnn", pool="max"),
    "stacked_lstm_mean_manual": dict(cell="lstm", num_layers=2, pool="mean", manual_backward=True),
    "bigru_attention": dict(cell="gru", bidirectional=True, pool="attention", trainable_embedding=True),
    "best_student_distinct": dict(cell="gru", bidirectional=True, pool="maxmean", pool_embeddings=True, dropout=0.5,
                                  embed_dropout=0.25, trainable_embedding=True, mask_padding=True,
                                  manual_backward=True, distinct_words=((8, 12, 40),)),
}


def _loss_and_grads(spec):
    x = jnp.asarray(np.random.default_rng(0).integers(1, 50, (8, 12)), jnp.int32).at[:3, :4].set(0)
    y = jnp.asarray(np.arange(8) % 3, jnp.int32)
    table = None if spec.trainable_embedding else np.random.default_rng(1).normal(size=(50, 8)).astype(np.float32)
    params = network.init(jax.random.PRNGKey(0), spec, table)

    def loss(p):
        logits = network.apply(p, x, spec, jax.random.PRNGKey(1))
        return jnp.mean(jax.nn.logsumexp(logits, -1) - jnp.take_along_axis(logits, y[:, None], 1)[:, 0]), logits

    (value, logits), grads = jax.value_and_grad(loss, has_aux=True)(params)
    return value, logits, grads, str(jax.make_jaxpr(loss)(params))


@pytest.mark.parametrize("name", sorted(CORNERS))
def test_bfloat16_multiplies_in_bfloat16_and_keeps_float32_parameters(name):
    got = {}
    for dtype in ("float32", "bfloat16"):
        spec = network.ModelSpec(rows=50, embed_dim=8, hidden_size=6, num_classes=3, dtype=dtype, **CORNERS[name])
        value, logits, grads, jaxpr = _loss_and_grads(spec)
        dots = [line for line in jaxpr.splitlines() if "dot_general" in line]
        assert dots
        assert all(("bf16" in line) == (dtype == "bfloat16") for line in dots), dots  # every matmul, none else
        assert logits.dtype == jnp.float32 and value.dtype == jnp.float32
        assert {leaf.dtype for leaf in jax.tree_util.tree_leaves(grads)} == {jnp.dtype(jnp.float32)}
        got[dtype] = (float(value), np.asarray(logits))
    # bfloat16 keeps 8 bits of mantissa: the logits move by bfloat16's rounding, not more
    np.testing.assert_allclose(got["bfloat16"][1], got["float32"][1], atol=0.02)
    assert not np.array_equal(got["bfloat16"][1], got["float32"][1])


def test_dtype_is_checked():
    with pytest.raises(ConfigError, match="--dtype='float16': allowed values are float32, bfloat16"):
        validate(Config(dtype="float16"))


BEYOND = dict(cell="gru", bidirectional=True, pool="maxmean", embeddings="random", embed_dim=8, hidden_size=6,
              seq_len=16, batch_size=8, epochs=6, val_fraction=0.2, dropout=0.2, learning_rate=0.02)


def test_a_short_bfloat16_run_stays_within_tolerance_of_float32(corpus_dir, tmp_path):
    """Tolerance: every epoch's training and test loss within 0.02 of float32's (the losses here fall from
    ~1.08 to ~0.01 in 6 epochs; measured differences are below 0.002), test accuracy within 0.1."""
    runs = {}
    for dtype in ("float32", "bfloat16"):
        cfg = Config(data_dir=corpus_dir, dtype=dtype, **BEYOND)
        train.train_and_evaluate(cfg, str(tmp_path / dtype), str(tmp_path / "c"), report=False)
        runs[dtype] = [json.loads(line) for line in open(tmp_path / dtype / "metrics.jsonl")]
    for a, b in zip(runs["float32"], runs["bfloat16"]):
        assert abs(a["train_loss"] - b["train_loss"]) < 0.02 and abs(a["test_loss"] - b["test_loss"]) < 0.02
        assert abs(a["test_accuracy"] - b["test_accuracy"]) <= 0.1
    assert runs["float32"][-1]["train_loss"] < runs["float32"][0]["train_loss"] - 0.5  # it did learn
    assert [r["train_loss"] for r in runs["float32"]] != [r["train_loss"] for r in runs["bfloat16"]]
    config = json.loads((tmp_path / "bfloat16" / "config.json").read_text())
    assert config["dtype"] == "bfloat16"


def test_checkpoints_restore_across_dtypes_and_resuming_in_another_dtype_is_refused(corpus_dir, tmp_path):
    base = [f"--data_dir={corpus_dir}", f"--cache_dir={tmp_path / 'c'}", "--cell=gru", "--bidirectional",
            "--pool=max", "--embeddings=random", "--embed_dim=8", "--hidden_size=6", "--seq_len=16",
            "--batch_size=8", "--report=false"]
    r = run_main(*base, "--epochs=2", f"--workdir={tmp_path / 'f32'}")
    assert r.returncode == 0, r.stderr[-2000:]
    r = run_main(*base, "--epochs=3", "--dtype=bfloat16", f"--workdir={tmp_path / 'f32'}")
    assert r.returncode == 1 and "dtype: saved 'float32', requested 'bfloat16'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run_main(*base, "--epochs=3", "--dtype=bfloat16", f"--restore_from={tmp_path / 'f32'}",
                 f"--workdir={tmp_path / 'bf16'}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Initialised from" in r.stdout, r.stdout[-2000:]
    rows = [json.loads(line) for line in open(tmp_path / "bf16" / "metrics.jsonl")]
    first = [json.loads(line) for line in open(tmp_path / "f32" / "metrics.jsonl")]
    assert rows[0]["train_loss"] < first[0]["train_loss"]  # it went on from the float32 run's weights
