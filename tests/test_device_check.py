"""The prepared device check (experiments/bench/device_check.py) runs end to end on this CPU with tiny
models, so that it cannot rot while no GPU is at hand: --prepare writes the bundle, the check times
every row (ngjax beside PyTorch when it is installed), projects the seed table and writes its results
file; a spent budget skips rows and says so; a missing bundle is one line."""

import json

from conftest import run_module


def test_the_device_check_runs_end_to_end_on_cpu_with_tiny_models(corpus_dir, glove8, tmp_path):
    bundle, out = tmp_path / "bundle", tmp_path / "results" / "device_check"
    r = run_module("experiments.bench.device_check", "--prepare", "--scale=tiny", f"--data_dir={corpus_dir}",
                   f"--glove_path={glove8}", f"--cache_dir={tmp_path / 'c'}", f"--bundle={bundle}")
    assert r.returncode == 0, r.stderr[-3000:]
    index = json.loads((bundle / "bundle.json").read_text())
    assert set(index) == {"seed_lstm", "seed_rnn", "seed_random_emb", "seed_seq50", "seed_seq100", "bigru256",
                          "bilstm256", "best", "_distill"}
    assert index["best"]["recurrence"] == "auto" and index["bigru256"]["shard"] == "auto"  # resolved on the device

    r = run_module("experiments.bench.device_check", f"--bundle={bundle}", "--repeats=1", "--budget_s=900",
                   f"--out={out}", timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(out.with_suffix(".json").read_text())
    results = got["results"]
    for name in ("seed", "bigru256", "bilstm256", "best"):
        assert results[name]["ngjax"]["median"] > 0 and results[name]["ngjax"]["first"] > 0
    for name in ("seed", "bigru256", "bilstm256"):  # PyTorch beside it, or said to be missing
        assert ("ratio" in results[name]) != ("missing" in results[name]["torch"])
    table = results["seed_table"]
    assert sorted(table["variants"]) == sorted(["seed_lstm", "seed_rnn", "seed_random_emb", "seed_seq50",
                                                "seed_seq100"])
    assert table["projected_s"] == sum(v["projected"] for v in table["variants"].values())
    assert results["best"]["rows"] == 3 * 54  # the training part and 2 mixed documents per document
    md = out.with_suffix(".md").read_text()
    assert got["env"]["device"].startswith("cpu") and "not judged here" in md and "- met" not in md

    r = run_module("experiments.bench.device_check", f"--bundle={bundle}", "--budget_s=0", f"--out={out}")
    assert r.returncode == 0, r.stderr[-2000:]
    results = json.loads(out.with_suffix(".json").read_text())["results"]
    assert all(r["skipped"].startswith("not measured") for r in results.values()) and len(results) == 5


def test_a_missing_bundle_is_one_line(tmp_path):
    r = run_module("experiments.bench.device_check", f"--bundle={tmp_path / 'none'}")
    assert r.returncode == 2 and "no bundle.json; write it first with --prepare" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
