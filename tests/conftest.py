"""Shared fixtures: tiny fake corpora and GloVe files written by the tests themselves."""

import os
import random
import subprocess
import sys

import tempfile

# One persistent XLA compilation cache for the whole test session, shared with the subprocesses
# the tests start: the same tiny programs are compiled once instead of in every test.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="ngjax-xla-cache-"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras 3 (the optimizer's reference) on JAX, not TensorFlow

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_ARCHIVE = os.path.join(ROOT, "..", "shared", "data", "20news-bydate.tar.gz")

GROUPS = ["alt.atheism", "comp.graphics", "sci.space"]
TOPIC_WORDS = {
    "alt.atheism": ["god", "belief", "religion", "atheist", "faith", "bible"],
    "comp.graphics": ["image", "pixel", "render", "polygon", "bitmap", "jpeg"],
    "sci.space": ["orbit", "nasa", "rocket", "shuttle", "moon", "launch"],
}
COMMON = ["the", "a", "of", "and", "to", "is", "in", "it", "that", "for"]


def fake_doc(rng: random.Random, group: str, n_words: int = 25) -> str:
    words = [rng.choice(TOPIC_WORDS[group]) if rng.random() < 0.4 else rng.choice(COMMON)
             for _ in range(n_words)]
    return f"From: someone@{group}\nSubject: {words[0]} talk\n\n" + " ".join(words) + ".\n"


def write_corpus(root: str, n_train: int = 20, n_test: int = 8, seed: int = 0) -> str:
    """A bydate-layout folder with len(GROUPS) groups; returns root."""
    rng = random.Random(seed)
    for subset, n in (("train", n_train), ("test", n_test)):
        for g in GROUPS:
            d = os.path.join(root, f"20news-bydate-{subset}", g)
            os.makedirs(d, exist_ok=True)
            for i in range(n):
                with open(os.path.join(d, str(1000 + i)), "w", encoding="latin-1") as f:
                    f.write(fake_doc(rng, g))
    return root


def write_glove(path: str, words, dim: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for w in words:
            f.write(w + " " + " ".join(f"{x:.6f}" for x in rng.normal(size=dim)) + "\n")
    return path


ALL_WORDS = sorted({w for ws in TOPIC_WORDS.values() for w in ws} | set(COMMON) | {"from", "subject"})


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory):
    return write_corpus(str(tmp_path_factory.mktemp("corpus")))


@pytest.fixture(scope="session")
def glove8(tmp_path_factory):
    """An 8-d GloVe file covering most fake words (not 'bible' and 'jpeg')."""
    words = [w for w in ALL_WORDS if w not in ("bible", "jpeg")]
    return write_glove(str(tmp_path_factory.mktemp("glove") / "glove.8d.txt"), words, 8)


@pytest.fixture()
def cache_dir(tmp_path):
    return str(tmp_path / "cache")


@pytest.fixture(scope="session")
def shared_archive():
    if not os.path.exists(SHARED_ARCHIVE):
        if os.environ.get("NGJAX_REQUIRE_DATA"):  # set by .ci/run: a real-data test never skips in CI
            pytest.fail(f"the shared archive {SHARED_ARCHIVE} is missing (NGJAX_REQUIRE_DATA is set)")
        pytest.skip(f"the shared archive {SHARED_ARCHIVE} is not here")
    return SHARED_ARCHIVE


def _env(env=None):
    e = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONUNBUFFERED="1")
    e.update(env or {})
    return e


def _command(module_or_script):
    if module_or_script.endswith((".py", ".sh")):
        path = os.path.join(ROOT, module_or_script)
        return [sys.executable, path] if path.endswith(".py") else [path]
    return [sys.executable, "-m", module_or_script]


def run_module(module, *args, env=None, timeout=300, cwd=None, stdin=None):
    """``python -m MODULE ARGS`` (or a tests/*.py script, or launch.sh) in a subprocess, CPU only;
    returns the CompletedProcess (text)."""
    return subprocess.run([*_command(module), *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=_env(env), cwd=cwd or ROOT)


def start_module(module, *args, env=None, cwd=None):
    """The same, started in the background: a Popen with text pipes."""
    return subprocess.Popen([*_command(module), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env(env), cwd=cwd or ROOT)


def run_main(*args, env=None, timeout=300, cwd=None):
    """python -m ngjax.main ARGS in a subprocess; returns CompletedProcess (text)."""
    return run_module("ngjax.main", *args, env=env, timeout=timeout, cwd=cwd)
