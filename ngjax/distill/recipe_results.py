"""The recipe's results (``ngjax.distill.recipe``): what each stage took and gave, and the student's
test accuracy over its seeds (mean ± std, and their ensemble), as ``results.json`` and ``results.md``."""

from __future__ import annotations

import os
from typing import List, Optional

import numpy as np

from ngjax import files


def student_result(folder: str) -> Optional[dict]:
    """A finished student run's numbers at its reported epoch: {epoch, test_accuracy (per seed), mean,
    std, ensemble, val_accuracy}; None while it has not finished."""
    path = os.path.join(folder, "summary.json")
    if not os.path.exists(path):
        return None
    summary = files.read_json(path)
    row = summary.get("selected") or summary.get("final") or {}
    per = (row.get("per_seed") or {}).get("test_accuracy") or [row.get("test_accuracy")]
    return {"epoch": row.get("epoch"), "epochs_run": summary.get("epochs"), "test_accuracy": per,
            "mean": float(np.mean(per)), "std": float(np.std(per)),
            "ensemble": row.get("test_ensemble_accuracy"), "val_accuracy": row.get("val_accuracy"),
            "wall_seconds": summary.get("wall_seconds")}


def collect(workdir: str, stages: List, state: dict, command: str) -> dict:
    """The results of a finished recipe (this launch's stages: its student, and refit if asked)."""
    launches = state["launches"]
    rows = [{"stage": s.key, "title": s.title, **state["stages"].get(s.key, {})} for s in stages]
    teachers = [r["test_accuracy"] for r in rows if r["stage"].startswith("teachers/") and "test_accuracy" in r]
    out = {"command": command, "recipe": state["identity"]["experiment"],
           "stage_seconds": float(sum(r.get("seconds", 0.0) for r in rows)),
           "launch_seconds": float(sum(launch.get("seconds", 0.0) for launch in launches)),
           "launches": launches, "stages": rows,
           "teachers": {"test_accuracy": teachers, "mean": float(np.mean(teachers)), "std": float(np.std(teachers))},
           "student": None}
    for s in stages:
        if s.cfg is not None and not s.key.startswith("teachers/"):
            out["refit" if s.epochs_from else "student"] = student_result(os.path.join(workdir, s.key))
    return out


def markdown(results: dict) -> str:
    lines = [f"# The best model in one command (recipe `{results['recipe']}`)", "",
             f"Command: `{results['command']}`", "",
             f"Time: **{results['stage_seconds']:.0f} s** for this result's stages, each as it ran (the table); the "
             f"folder's {len(results['launches'])} launch(es) of the command took {results['launch_seconds']:.0f} s "
             "(a launch killed in a stage counts to the end of its last finished stage)", ""]
    for name, what in (("student", "Student, trained on the training part"),
                       ("refit", "Student refit on train + validation")):
        r = results.get(name)
        if r:
            seeds = len(r["test_accuracy"])
            ens = f", ensemble of the {seeds} replicas {r['ensemble']:.4f}" if r.get("ensemble") is not None else ""
            val = f", validation {r['val_accuracy']:.4f}" if r.get("val_accuracy") is not None else ""
            lines.append(f"- {what}: test **{r['mean']:.4f} ± {r['std']:.4f}** over {seeds} seed(s) "
                         f"(epoch {r['epoch']} of {r['epochs_run']}{val}){ens}; per seed "
                         + ", ".join(f"{a:.4f}" for a in r["test_accuracy"]))
    t = results["teachers"]
    lines += [f"- Teachers: test {t['mean']:.4f} ± {t['std']:.4f} over {len(t['test_accuracy'])} run(s)", "",
              "| stage | seconds | epochs | test accuracy | |", "|---|---|---|---|---|"]
    for r in results["stages"]:
        acc = r.get("test_accuracy")
        extra = f"{r['documents']} documents, targets' argmax = label on {r['accuracy']:.4f}" if "documents" in r else ""
        lines.append(f"| {r['title']} | {r.get('seconds', 0):.0f} | {r.get('epochs') or '-'} | "
                     f"{'-' if acc is None else f'{acc:.4f}'} | {extra} |")
    lines += ["", "Launches (UTC start, command, seconds):", ""] + [
        f"- {launch['started']} `{launch['command']}` {launch.get('seconds', 0):.0f} s" for launch in results["launches"]]
    return "\n".join(lines) + "\n"


def write(workdir: str, results: dict, out: Optional[str] = None) -> None:
    """results.json / results.md in ``workdir`` (and at ``out``.json / .md when given)."""
    for base in [os.path.join(workdir, "results")] + ([out] if out else []):
        os.makedirs(os.path.dirname(base) or ".", exist_ok=True)
        files.write_json(base + ".json", results)
        files.atomic_write(base + ".md", markdown(results))
