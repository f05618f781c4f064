"""The CLI: flag validation, experiments, and a tiny end-to-end run in a subprocess."""

import json
import os

import pytest

from conftest import ALL_WORDS, run_main, run_module, write_glove


@pytest.mark.parametrize("args,needle", [
    (["--cell=transformer"], "--cell='transformer': allowed values are lstm, gru, rnn"),
    (["--seq_len=0"], "--seq_len=0: must be a positive integer"),
    (["--batch_size=-3"], "--batch_size=-3: must be a positive integer"),
    (["--embeddings=word2vec"], "--embeddings='word2vec': allowed values are glove, random"),
    (["--val_fraction=1.5"], "--val_fraction=1.5: must be in [0, 1)"),
    (["--remove=headers,signature"], "unknown part(s) ['signature']"),
    (["--experiment=nope"], "--experiment=nope: unknown; available: best, beyond_bigru, "),
    (["--distill_weight=0.9"], "--distill_weight / --distill_temperature shape distillation; add --teacher=FILE"),
    (["--shard=directions"], "--shard=directions splits a bidirectional layer's two directions over two devices; add "
                             "--bidirectional"),
    (["--cpu_devices=-1"], "--cpu_devices=-1: must be 0 (JAX's default) or a positive number of devices"),
])
def test_bad_flags_get_one_line_and_exit_2(args, needle):
    r = run_main(*args, timeout=60)
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_tiny_run_writes_config_metrics_summary(corpus_dir, glove8, tmp_path):
    w = str(tmp_path / "run")
    r = run_main(f"--data_dir={corpus_dir}", f"--glove_path={glove8}", "--epochs=2", "--seq_len=20",
                 f"--workdir={w}", f"--cache_dir={tmp_path / 'cache'}", "--cell=rnn")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Epoch 1/2" in r.stdout and "Epoch 2/2" in r.stdout and "test_accuracy" in r.stdout
    assert "Total params" in r.stdout and "SimpleRNN" in r.stdout  # Keras-like summary
    cfg = json.load(open(os.path.join(w, "config.json")))
    assert cfg["cell"] == "rnn" and cfg["embed_dim"] == 8 and cfg["seq_len"] == 20
    rows = [json.loads(l) for l in open(os.path.join(w, "metrics.jsonl"))]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert set(rows[0]) == {"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                            "epoch_seconds"}
    s = json.load(open(os.path.join(w, "summary.json")))
    assert set(s["params"]) >= {"embedding", "recurrent", "dense", "total", "trainable"}
    assert s["params"]["recurrent"] == 30 * (8 + 30) + 30
    assert s["params"]["dense"] == 30 * 3 + 3
    assert s["final"] == rows[-1]


def test_experiment_dim200_with_a_synthetic_200d_file(corpus_dir, tmp_path):
    g200 = write_glove(str(tmp_path / "glove.200d.txt"), ALL_WORDS, 200)
    w = str(tmp_path / "dim200")
    r = run_main("--experiment=seed_dim200", f"--data_dir={corpus_dir}", f"--glove_path={g200}",
                 "--epochs=1", f"--workdir={w}", f"--cache_dir={tmp_path / 'cache'}", "--val_fraction=0.2")
    assert r.returncode == 0, r.stderr[-2000:]
    cfg = json.load(open(os.path.join(w, "config.json")))
    assert cfg["experiment"] == "seed_dim200" and cfg["embed_dim"] == 200 and cfg["seq_len"] == 30
    row = json.loads(open(os.path.join(w, "metrics.jsonl")).readline())
    assert "val_loss" in row and "val_accuracy" in row
    s = json.load(open(os.path.join(w, "summary.json")))
    assert s["params"]["recurrent"] == 4 * (30 * (200 + 30) + 30)


def test_input_errors_are_one_line(corpus_dir, glove8, tmp_path):
    bad_glove = tmp_path / "bad.txt"
    bad_glove.write_text("a 1 2\nb 1\n")
    cases = [
        (["--experiment=seed_dim200", f"--data_dir={corpus_dir}"], "needs a 200-d GloVe file"),
        ([f"--data_dir={tmp_path / 'missing'}"], "no such file or folder"),
        ([f"--data_dir={corpus_dir}", f"--glove_path={bad_glove}"], "line 2 ('b') has 1 values"),
        ([f"--data_dir={corpus_dir}", f"--glove_path={glove8}", "--embed_dim=50"],
         "--embed_dim=50 disagrees with"),
        ([f"--data_dir={corpus_dir}", f"--glove_path={glove8}", f"--workdir={bad_glove}"],
         f"--workdir={bad_glove} is a file, not a folder"),
    ]
    for args, needle in cases:
        if not any(a.startswith("--workdir=") for a in args):
            args = [*args, f"--workdir={tmp_path / 'w'}"]
        r = run_main(*args, f"--cache_dir={tmp_path / 'c'}", "--epochs=1")
        assert r.returncode == 1, (args, r.stderr[-1500:])
        err = [l for l in r.stderr.splitlines() if l.startswith("error:")]
        assert len(err) == 1 and needle in err[0], r.stderr[-1500:]
        assert "Traceback" not in r.stderr


def test_every_config_field_is_a_flag_with_its_default_help_and_choices():
    import dataclasses

    from absl import flags

    from ngjax import cli
    from ngjax.config import Config, ConfigError

    fv = flags.FlagValues()
    cli.define_config_flags(flag_values=fv)
    fv(["prog", "--cell=rnn", "--remove=quotes,headers", "--seeds=3", "--mask_padding"])
    for field in dataclasses.fields(Config):
        flag = fv[field.name]
        default = list(field.default) if isinstance(field.default, tuple) else field.default
        assert flag.default == default, field.name
        assert field.metadata["help"] in flag.help, field.name
        for choice in field.metadata["choices"]:
            assert choice in flag.help
    cfg = cli.config_from_flags(fv)
    assert (cfg.cell, cfg.remove, cfg.seeds, cfg.mask_padding) == ("rnn", ("headers", "quotes"), 3, True)
    assert cfg.replace(cell="rnn", remove=("headers", "quotes"), seeds=3, mask_padding=True) == cfg
    fv2 = flags.FlagValues()
    cli.define_config_flags(flag_values=fv2)
    fv2(["prog", "--experiment=seed_random_emb", "--seq_len=12"])
    cfg = cli.config_from_flags(fv2)  # the experiment's values, the flag given wins
    assert (cfg.embeddings, cfg.embed_dim, cfg.seq_len, cfg.experiment) == ("random", 100, 12, "seed_random_emb")
    fv3 = flags.FlagValues()
    cli.define_config_flags(flag_values=fv3)
    fv3(["prog", "--shard=pipeline"])
    with pytest.raises(ConfigError, match="--shard='pipeline': allowed values are auto, data, seeds, directions, none"):
        cli.config_from_flags(fv3)


def test_help_shows_each_commands_own_options_by_section():
    from ngjax.config import FIELDS, SECTIONS

    assert sorted(n for names in SECTIONS.values() for n in names) == sorted(FIELDS)  # each field once
    r = run_module("ngjax.main", "--help", timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("Train a classifier"), r.stderr[-2000:]
    out = r.stdout
    heads = [l for l in out.splitlines() if l and not l.startswith(" ") and l.endswith(":")]
    assert heads == ["data:", "embeddings:", "model:", "optimizer:", "training:", "distillation:", "speed:", "run:",
                     "many hosts:"]
    for flag in [*FIELDS, "workdir", "cache_dir", "restore_from", "cpu_devices", "report", "coordinator_address"]:
        assert f"  --{flag}: " in out, flag
    assert out.index("  --cell: ") > out.index("model:") > out.index("  --seq_len: ")
    assert "--jax_" not in out and "--xla" not in out and "--helpfull" in out.splitlines()[-1]
    for module, flag in (("ngjax.predict", "top_k"), ("ngjax.report", "workdir"), ("ngjax.distill.teacher", "mix_copies")):
        r = run_module(module, "-h", timeout=120)
        assert r.returncode == 0 and f"  --{flag}: " in r.stdout and "--jax_" not in r.stdout, (module, r.stderr[-1500:])


@pytest.mark.parametrize("args, needle", [
    (["--foo=1"], "error: Unknown command line flag 'foo'"),
    (["--seq_len=abc"], "error: flag --seq_len=abc: invalid literal for int()"),
])
def test_unknown_flags_and_unparsable_values_exit_2_in_one_line(args, needle):
    for module in ("ngjax.main", "ngjax.predict"):
        r = run_module(module, *args, timeout=120)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and "see --help" in lines[0], (module, r.stderr[-1500:])
        assert module == "ngjax.predict" or lines[0].startswith(needle), lines
