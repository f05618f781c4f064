"""Several devices on a CPU (4 fake devices in a subprocess): data and seed sharding, refusals."""

import json

import pytest

from conftest import run_module, start_module


def test_sharded_epochs_match_single_device():
    r = run_module("tests/multidevice_check.py", env={"XLA_FLAGS": "--xla_force_host_platform_device_count=4"})
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["all_reduce"]  # gradients are summed across the 4 devices: real data parallelism
    assert out["data_parallel"] < 1e-5  # same parameters as the one-device epoch
    assert out["seed_devices"] == 4 and out["seeds"] < 1e-5
    assert out["distinct_data_parallel"] < 1e-5  # --distinct_words with the batch split: the same epoch
    assert out["bad_batch"].startswith("--batch_size=30 does not divide over 4 devices")
    assert "28 or 32" in out["bad_batch"]


def test_directions_on_two_devices_match_one_device():
    """--shard=directions: each direction of a bidirectional layer on its own device."""
    r = run_module("tests/directions_check.py", env={"XLA_FLAGS": ""})
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(out["corners"]) == 6 and max(out["corners"].values()) < 1e-5, out["corners"]  # with
    # --distinct_words' two paths
    assert out["epoch"] < 1e-5  # a bucketed epoch with dropout: the same parameters
    assert out["per_device_states"]  # each device's loop holds one direction: [1, T + 1, B, H]
    assert out["all_reduce"] and out["all_gather"] and not out["all_to_all"]  # the input's gradient summed,
    # the pooled features gathered, nothing resharded
    assert out["replicated"] and out["programs"] == 1  # the state comes back as placed: one program
    assert out["by_length"] < 1e-5  # a teacher file's reading, sorted by length, directions on two devices


def test_directions_from_the_command_line(corpus_dir, glove8, tmp_path):
    """Fast by default: a bidirectional model with no speed option runs each direction on its own CPU
    device (two of them, made at start-up), with the hand-written backward pass and distinct words."""
    common = [f"--data_dir={corpus_dir}", f"--glove_path={glove8}", "--seq_len=12", "--batch_size=8",
              "--bidirectional", "--pool=max", f"--cache_dir={tmp_path / 'c'}", "--report=false"]
    r = run_module("ngjax.main", *common, "--shard=directions", "--cpu_devices=1", f"--workdir={tmp_path / 'one'}",
                   env={"XLA_FLAGS": ""})
    assert r.returncode == 1 and "error: --shard=directions runs a bidirectional layer's two directions on two " \
        "devices, and 1 are visible; on a CPU leave --cpu_devices out (or set it to 2)" in r.stderr, r.stderr[-2000:]
    assert not (tmp_path / "one").exists()  # refused before anything was written
    r = run_module("ngjax.main", *common, "--epochs=1", f"--workdir={tmp_path / 'two'}", env={"XLA_FLAGS": ""})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "devices: 2 x cpu, --shard=directions, --recurrence=distinct" in r.stdout and "Epoch 1/1" in r.stdout
    saved = json.load(open(tmp_path / "two" / "config.json"))
    assert (saved["recurrence"], saved["shard"]) == ("distinct", "directions")  # what ran, for the resume
    # resumed with the old flag names of --recurrence given: kept apart from the fast choice, and refused
    # nowhere (same math up to rounding); the saved choice is what an "auto" resume keeps
    r = run_module("ngjax.main", *common, "--epochs=2", f"--workdir={tmp_path / 'two'}", "--manual_backward",
                   "--nodistinct_words", env={"XLA_FLAGS": ""})
    assert r.returncode == 0 and "--recurrence=manual" in r.stdout, r.stderr[-3000:]
    # its checkpoint (saved from two devices) read back on one, to classify a text
    r = run_module("ngjax.predict", f"--workdir={tmp_path / 'two'}", "the space shuttle orbit", env={"XLA_FLAGS": ""})
    assert r.returncode == 0 and "sci.space" in r.stdout, r.stderr[-3000:]
    # an old run folder (no --recurrence / --shard in its config.json) resumes as it was trained: one
    # device, jax.grad of the scan
    old = tmp_path / "old"
    r = run_module("ngjax.main", *common, "--epochs=1", f"--workdir={old}", "--recurrence=autodiff", "--shard=data",
                   "--cpu_devices=0", env={"XLA_FLAGS": ""})
    assert r.returncode == 0, r.stderr[-3000:]
    saved = json.load(open(old / "config.json"))
    del saved["recurrence"], saved["shard"]
    saved["manual_backward"] = saved["distinct_words"] = False
    json.dump(saved, open(old / "config.json", "w"))
    r = run_module("ngjax.main", *common, "--epochs=2", f"--workdir={old}", env={"XLA_FLAGS": ""})
    assert r.returncode == 0 and "devices: 1 x cpu" in r.stdout and "--recurrence=autodiff" in r.stdout, \
        r.stdout[-2000:] + r.stderr[-2000:]


def test_launch_dry_run_prints_commands():
    def dry(*args):
        r = run_module("launch.sh", *args)
        return r.returncode, r.stdout + r.stderr

    rc, out = dry("--platform=cpu", "--dry_run", "--", "--cell=rnn")
    assert rc == 0 and "JAX_PLATFORMS=cpu" in out and "python -m ngjax.main --cell=rnn" in out
    rc, out = dry("--platform=gpu", "--dry_run", "--", "--seeds=5")
    assert rc == 0 and "JAX_PLATFORMS=cuda" in out and "XLA_PYTHON_CLIENT_PREALLOCATE=false" in out
    assert "JAX_COMPILATION_CACHE_DIR=" in out
    rc, out = dry("--platform=tpu", "--tpu_name=pod1", "--zone=us-central2-b", "--dry_run", "--", "--epochs=3")
    assert rc == 0 and "gcloud compute tpus tpu-vm ssh pod1" in out and "--worker=all" in out
    assert "--zone=us-central2-b" in out and "ngjax.main" in out and "--epochs=3" in out
    rc, out = dry("--platform=x")
    assert rc == 2 and "allowed values are cpu, gpu, tpu" in out
    rc, out = dry("--help")
    assert rc == 0 and "--platform" in out


def test_two_processes_train_one_epoch_and_write_one_set_of_outputs(corpus_dir, glove8, tmp_path):
    """jax.distributed with a local coordinator: 2 processes x 1 CPU device, batches split."""
    import json
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    w = tmp_path / "mp"
    procs = [start_module(
        "ngjax.main", f"--coordinator_address=127.0.0.1:{port}", "--num_processes=2", f"--process_id={i}",
        f"--data_dir={corpus_dir}", f"--glove_path={glove8}", "--epochs=1", f"--workdir={w}",
        f"--cache_dir={tmp_path / 'c'}", "--batch_size=8", "--eval_batch_size=16", env={"XLA_FLAGS": ""})
        for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    assert "Processes: 2, devices: 2" in outs[0][0] and "Epoch 1/1" in outs[0][0]
    assert "Epoch 1/1" not in outs[1][0]  # only process 0 prints and writes
    rows = [json.loads(l) for l in open(w / "metrics.jsonl")]
    assert [r["epoch"] for r in rows] == [1]
    assert (w / "summary.json").exists() and (w / "checkpoints" / "1").is_dir()
    # the same run in one process on two devices: the same numbers (the gradient sum's order may differ)
    one = tmp_path / "one"
    r = run_module("ngjax.main", "--cpu_devices=2", f"--data_dir={corpus_dir}", f"--glove_path={glove8}", "--epochs=1",
                   f"--workdir={one}", f"--cache_dir={tmp_path / 'c'}", "--batch_size=8", "--eval_batch_size=16",
                   env={"XLA_FLAGS": ""})
    assert r.returncode == 0, r.stderr[-3000:]
    single = json.loads(open(one / "metrics.jsonl").read().splitlines()[0])
    for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
        assert rows[0][key] == pytest.approx(single[key], rel=1e-5, abs=1e-7), key
