"""Fast by default (ngjax.train.fastest): what --recurrence=auto, --shard=auto and --cpu_devices left
out become; the old boolean options; old run folders resume with what they were trained with."""

import json

import pytest

from ngjax import cli
from ngjax.config import Config, ConfigError, validate
from ngjax.train import fastest

SEED = Config()  # the seed's LSTM: unmasked
BIGRU = Config(cell="gru", bidirectional=True, pool="max")
POOLED = Config(pool="mean")


def test_recurrence_auto_is_the_fastest_that_applies():
    assert fastest.recurrence(SEED) == "autodiff"  # one implementation for an unmasked model
    assert fastest.recurrence(BIGRU) == "distinct" and fastest.recurrence(POOLED) == "distinct"
    assert fastest.recurrence(Config(mask_padding=True)) == "distinct"
    assert fastest.recurrence(BIGRU.replace(seeds=3)) == "manual"  # distinct words need one replica


def test_shard_auto_splits_the_directions_on_a_two_device_cpu_only():
    assert fastest.shard(BIGRU, "cpu", 2) == "directions"
    assert fastest.shard(BIGRU, "cpu", 1) == "data"
    assert fastest.shard(BIGRU, "gpu", 2) == "data" and fastest.shard(BIGRU, "tpu", 2) == "data"
    assert fastest.shard(BIGRU.replace(seeds=2), "cpu", 2) == "data"
    assert fastest.shard(POOLED, "cpu", 2) == "data"


def test_cpu_devices_left_out_give_two_where_the_directions_run_apart():
    assert fastest.cpu_devices(BIGRU, cores=2) == 2
    assert fastest.cpu_devices(BIGRU, cores=1) == 0
    assert fastest.cpu_devices(BIGRU.replace(shard="directions"), cores=8) == 2
    assert fastest.cpu_devices(BIGRU.replace(shard="data"), cores=8) == 0
    assert fastest.cpu_devices(BIGRU.replace(seeds=2), cores=8) == 0
    assert fastest.cpu_devices(BIGRU.replace(seeds=2, shard="directions"), cores=8) == 2  # asked for
    assert fastest.cpu_devices(BIGRU.replace(shard="directions"), cores=1) == 2
    assert fastest.cpu_devices(SEED, cores=8) == 0 and fastest.cpu_devices(POOLED, cores=8) == 0
    # a run folder from before --shard=auto was trained on one device: resumed on one
    old = json.loads(BIGRU.replace(shard="data").to_json())
    del old["shard"]
    assert fastest.cpu_devices(BIGRU, old, cores=8) == 0
    assert fastest.cpu_devices(BIGRU, json.loads(BIGRU.replace(shard="directions").to_json()), cores=8) == 2


def test_resolve_keeps_a_resumed_runs_choice():
    fresh = fastest.resolve(BIGRU, None, "cpu", 2)
    assert (fresh.recurrence, fresh.shard) == ("distinct", "directions")
    saved = json.loads(BIGRU.replace(recurrence="manual", shard="data").to_json())
    kept = fastest.resolve(BIGRU, saved, "cpu", 2)
    assert (kept.recurrence, kept.shard) == ("manual", "data")
    # an old config.json: the booleans of then, or nothing (jax.grad of the scan, split by batch)
    legacy = {k: v for k, v in saved.items() if k not in ("recurrence", "shard")}
    assert fastest.resolve(BIGRU, legacy, "cpu", 2).recurrence == "autodiff"
    assert fastest.resolve(BIGRU, dict(legacy, manual_backward=True), "cpu", 2).recurrence == "manual"
    assert fastest.resolve(BIGRU, legacy, "cpu", 2).shard == "data"
    # the saved directions on a machine without two devices: the fastest here instead
    moved = fastest.resolve(BIGRU, json.loads(fresh.to_json()), "cpu", 1)
    assert (moved.recurrence, moved.shard) == ("distinct", "data")
    # given explicitly: kept as given
    assert fastest.resolve(BIGRU.replace(recurrence="autodiff", shard="none"), None, "cpu", 2).shard == "none"


def test_old_boolean_options_are_values_of_recurrence():
    assert Config.from_dict({"manual_backward": True}).recurrence == "manual"
    assert Config.from_dict({"manual_backward": True, "distinct_words": True}).recurrence == "distinct"
    assert Config.from_dict({"manual_backward": False, "distinct_words": False}).recurrence == "autodiff"
    assert Config.from_saved({"manual_backward": True}).recurrence == "manual"  # an old config.json
    assert Config.from_saved({}).recurrence == "autodiff" and Config.from_saved({}).shard == "data"
    with pytest.raises(ConfigError, match="--manual_backward .*--recurrence=autodiff disagree"):
        Config.from_dict({"manual_backward": True, "recurrence": "autodiff"})
    with pytest.raises(ConfigError, match="--recurrence='bogus': allowed values are auto, autodiff, manual, distinct"):
        validate(Config(recurrence="bogus"))


def test_old_flag_names_override_an_experiments_pinned_recurrence(tmp_path):
    from absl import flags

    fv = flags.FlagValues()
    cli.define_config_flags(flag_values=fv)
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    (experiments / "pinned.py").write_text('CONFIG = dict(bidirectional=True, pool="max", recurrence="autodiff")\n')
    import os

    old = os.environ.get("NGJAX_EXPERIMENTS")
    os.environ["NGJAX_EXPERIMENTS"] = str(experiments)
    try:
        fv(["prog", "--experiment=pinned"])
        assert cli.config_from_flags(fv).recurrence == "autodiff"
        fv.unparse_flags()
        fv(["prog", "--experiment=pinned", "--manual_backward", "--distinct_words"])
        assert cli.config_from_flags(fv).recurrence == "distinct"
        fv.unparse_flags()
        fv(["prog", "--experiment=pinned", "--manual_backward", "--recurrence=distinct"])
        with pytest.raises(ConfigError, match="disagree"):
            cli.config_from_flags(fv)
    finally:
        if old is None:
            os.environ.pop("NGJAX_EXPERIMENTS")
        else:
            os.environ["NGJAX_EXPERIMENTS"] = old


def test_sorted_evaluation_in_steps_gives_the_document_order_numbers():
    """The fast recurrences evaluate length-sorted chunks at their own lengths, each in lax.map
    steps of a training batch: the same sums as fixed chunks in document order, up to rounding."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from ngjax.model import network
    from ngjax.train import buckets, steps

    cfg = BIGRU.replace(batch_size=3, eval_batch_size=5)
    assert steps.sorted_evaluation(cfg.replace(recurrence="distinct")) and steps.eval_step(cfg) == 3
    assert not steps.sorted_evaluation(cfg.replace(recurrence="autodiff"))
    assert not steps.sorted_evaluation(SEED.replace(recurrence="autodiff"))
    spec = network.ModelSpec("gru", rows=40, embed_dim=6, hidden_size=5, num_classes=4, bidirectional=True,
                             pool="max", manual_backward=True)
    params = network.init(jax.random.PRNGKey(0), spec)
    rng = np.random.default_rng(0)
    x = np.zeros((13, 16), np.int32)
    for i, n in enumerate(rng.integers(1, 17, 13)):
        x[i, :n] = rng.integers(1, 40, n)  # documents of 1..16 tokens, post-padded
    y = jnp.asarray(rng.integers(0, 4, 13), jnp.int32)
    plain = steps.evaluate(params, jnp.asarray(x), y, spec=spec, batch_size=5)
    plan = (*buckets.eval_plan(x, 5), False, 3)
    assert [length for _, _, length in plan[1]] != [16] * len(plan[1])  # shorter chunks really ran
    fast = jax.jit(lambda p: steps.evaluate(p, jnp.asarray(x), y, spec=spec, batch_size=5, buckets=plan))(params)
    for key in plain:
        np.testing.assert_allclose(fast[key], plain[key], rtol=1e-5)
