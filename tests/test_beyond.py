"""The ladder past the seed: its variants, its driver (validation-only selection, SVM baseline,
references, resumable), and a real-data check that the recipe beats the seed's model."""

import json
import os

import pytest

from conftest import run_main, run_module
from experiments import load
from experiments.beyond import LADDER
from ngjax.config import Config, validate


def test_every_ladder_step_is_a_valid_config_selected_on_validation():
    previous = None
    for name, _ in LADDER:
        values = load(name)
        cfg = validate(Config.from_dict(values))
        assert cfg.val_fraction == 0.1 and cfg.val_seed == 0 and cfg.early_stopping > 0
        if previous is not None:  # each step changes something
            assert values != previous, name
        previous = values


def test_beyond_driver_writes_the_table_and_resumes(corpus_dir, glove8, tmp_path):
    out, runs = str(tmp_path / "res" / "beyond"), str(tmp_path / "runs")
    args = [f"--data_dir={corpus_dir}", f"--glove_path={glove8}", "--epochs=2", "--seeds=2", f"--runs_dir={runs}",
            f"--cache_dir={tmp_path / 'c'}", f"--out={out}", "--variants=beyond_seed,beyond_post", "--svm_c=0.1,1"]
    r = run_module("experiments.ladder", *args, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    md = open(out + ".md").read()
    data = json.load(open(out + ".json"))
    assert [row["name"] for row in data["rows"]] == ["beyond_seed", "beyond_post"]
    for row in data["rows"]:
        assert row["seeds"] == 2 and len(row["test_per_seed"]) == 2 and 1 <= row["selected_epoch"] <= 2
        assert 0 <= row["val"][0] <= 1 and row["ensemble_test"] is not None
    assert data["configurations_tried"] == 4 and data["svm"]["C"] in (0.1, 1.0)
    assert "TF-IDF + LinearSVC" in md and "Johnson & Zhang 2016" in md and "Configurations tried: 4" in md
    assert "experiments.ladder" in md and os.path.getsize(out + ".png") > 0
    r = run_module("experiments.ladder", *args, timeout=600)
    assert r.returncode == 0 and r.stdout.count("Nothing to do") == 2  # finished steps are read back
    r = run_module("experiments.ladder", *args[:-2], "--variants=beyond_nope", timeout=60)
    assert r.returncode == 2 and "unknown ['beyond_nope']" in r.stderr


@pytest.mark.slow
def test_a_small_long_document_model_beats_the_seed_model_at_the_same_budget(shared_archive, tmp_path):
    cache = str(tmp_path / "c")
    common = [f"--data_dir={shared_archive}", f"--cache_dir={cache}", "--epochs=2", "--report=false"]
    seed = run_main("--experiment=seed_lstm", f"--workdir={tmp_path / 'seed'}", *common, timeout=900)
    small = run_main("--cell=gru", "--hidden_size=32", "--bidirectional", "--pool=max", "--seq_len=128",
                     "--padding=post", "--truncating=post", "--finetune_embedding", "--batch_size=64",
                     "--learning_rate=2e-3", "--clip_norm=1", f"--workdir={tmp_path / 'small'}", *common, timeout=900)
    assert seed.returncode == 0 and small.returncode == 0, (seed.stderr[-1500:], small.stderr[-1500:])
    acc = {k: json.load(open(tmp_path / k / "summary.json"))["final"]["test_accuracy"] for k in ("seed", "small")}
    assert acc["small"] > acc["seed"] + 0.1, acc
