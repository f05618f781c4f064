"""The shape of the code: the core imports no experiment, modules stay small, experiments are not
an installed package, and --experiment finds variant files in any folder tree."""

import ast
import configparser
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from ngjax import variants
from ngjax.config import ConfigError

CORE = os.path.join(ROOT, "ngjax")
MAX_LINES = 300


def _modules():
    for folder, _, names in os.walk(CORE):
        for name in names:
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def _imports(path):
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_core_imports_no_experiment():
    bad = [(os.path.relpath(p, ROOT), m) for p in _modules() for m in _imports(p)
           if m == "experiments" or m.startswith("experiments.")]
    assert bad == []


def test_no_import_cycle():
    tool = os.path.join(ROOT, "..", "shared", "tools", "import_graph.py")
    if not os.path.exists(tool):
        pytest.skip(f"{tool} is not here")
    r = subprocess.run([sys.executable, tool], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and " 0 cycle(s)" in r.stdout, r.stdout[-2000:]


def test_no_core_module_passes_the_size_limit():
    sizes = {os.path.relpath(p, ROOT): sum(1 for _ in open(p)) for p in _modules()}
    assert len(sizes) > 30
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}


def test_experiments_are_not_an_installed_package():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    include = cfg["options.packages.find"]["include"].split()
    assert include and all(p.split(".")[0] == "ngjax" for p in include)


def test_variants_found_in_any_folder_tree(tmp_path, monkeypatch):
    pkg = tmp_path / "mystudy"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "base_variant.py").write_text("CONFIG = dict(cell='gru', hidden_size=8)\n")
    (pkg / "sub" / "child_variant.py").write_text(
        "from mystudy.base_variant import CONFIG as BASE\n\nCONFIG = dict(BASE, seq_len=12)\n")
    (pkg / "helper.py").write_text("X = 1\n")  # no CONFIG: not a variant
    monkeypatch.setenv(variants.ENV, str(pkg))
    assert variants.available() == ["base_variant", "child_variant"]
    assert variants.load("child_variant") == {"cell": "gru", "hidden_size": 8, "seq_len": 12}
    with pytest.raises(ConfigError, match="unknown; available: base_variant, child_variant"):
        variants.load("helper")
    monkeypatch.setenv(variants.ENV, str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="no variant files under"):
        variants.load("base_variant")


def test_variants_default_to_the_experiments_folder_here(monkeypatch):
    monkeypatch.delenv(variants.ENV, raising=False)
    monkeypatch.chdir(ROOT)
    assert {"seed_lstm", "seed_rnn", "beyond_distill_mixed_lin_ema"} <= set(variants.available())
    assert variants.load("seed_lstm")["cell"] == "lstm"


def test_best_model_file_equals_the_ladders_chosen_step(monkeypatch):
    monkeypatch.delenv(variants.ENV, raising=False)
    monkeypatch.chdir(ROOT)
    best = variants.module("best")
    chosen = variants.module("beyond_distill_mixed_lin_ema")  # the choice of results/beyond_followup2.md
    results = open(os.path.join(ROOT, "experiments", "ladder", "results", "beyond_followup2.md")).read()
    assert "Chosen on validation: **beyond_distill_mixed_lin_ema**" in results
    assert best.CONFIG == variants.load("beyond_distill_mixed_lin_ema")
    assert (best.TEACHER, best.TEACHER_OPTIONS) == (chosen.TEACHER, chosen.TEACHER_OPTIONS)
    assert best.TEACHER_CONFIG == variants.load(chosen.TEACHER)
    # flat: the file imports nothing
    assert not [n for n in ast.walk(ast.parse(open(best.__file__).read())) if isinstance(n, (ast.Import, ast.ImportFrom))]


def test_readme_is_a_short_guide_naming_every_option_and_each_study_has_a_readme():
    from ngjax.config import FIELDS

    text = open(os.path.join(ROOT, "README.md")).read()
    assert len(text.splitlines()) <= 300
    assert [n for n in FIELDS if f"`--{n}" not in text] == []
    for flag in ("workdir", "cache_dir", "restore_from", "cpu_devices", "report", "coordinator_address"):
        assert f"`--{flag}" in text, flag
    for study in ("seed", "ladder", "bench"):
        assert os.path.getsize(os.path.join(ROOT, "experiments", study, "README.md")) > 1000, study


def test_the_core_names_no_technique():
    """Distillation plugs in through the seams (a batch dict, a loss, extra rows): only the technique list
    of ngjax.train.inputs names its module, as a string; no core module imports it."""
    core = [p for p in _modules() if os.sep + "distill" + os.sep not in p]
    bad = [(os.path.relpath(p, ROOT), m) for p in core for m in _imports(p) if m.startswith("ngjax.distill")]
    assert bad == []
    from ngjax.train import inputs, steps

    assert inputs.TECHNIQUES == ("ngjax.distill.plugin",)
    for module in (steps, inputs):  # no distillation parameter or teacher in the step, the epoch or the inputs
        code = open(module.__file__).read()
        assert "distill=" not in code and "teacher" not in code, module.__name__
