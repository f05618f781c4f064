"""The ladder past the seed: every step of experiments/ladder/steps/ and every candidate configuration,
chosen on validation only, then the chosen one trained with K seeds; beside a TF-IDF + LinearSVC
baseline on the same split and published results.

Command (what produced experiments/ladder/results/beyond.md):
    python -m experiments.ladder --data_dir=../shared/data/20news-bydate.tar.gz \
        --runs_dir=runs/beyond --seeds=1 --final_seeds=5 --workers=2

Protocol: a stratified validation split (10% of train, seed 0) carved from the training set. Each
ladder step and candidate trains ``--seeds`` replicas (seeds 0..K-1, one vmapped program) with
early stopping on the mean validation accuracy, keeps the best validation epoch's checkpoint, and
reports that epoch's validation and test accuracy (mean ± std over replicas). The run with the best
validation accuracy is the chosen configuration; it is trained again with ``--final_seeds`` seeds
as K single-seed runs (seeds 0..K-1; RUNS_DIR/NAME is seed 0, RUNS_DIR/NAME_seedS the others),
whose test accuracy (mean ± std) and the accuracy of their averaged probabilities (the ensemble)
are the ladder's result. Then distillation (``DISTILLED`` in experiments/ladder/, the files in students/): the students of
the chosen configuration learn from the averaged probabilities of its final runs (a teacher file,
RUNS_DIR/teacher_NAME*.npz, written once); each trains with ``--seeds``, and the best of them, if
it beats the chosen configuration on validation, becomes the chosen single model and is trained
with the final seeds in turn (whose students are tried next: born-again generations).
``--compare=NAME,...`` also trains named configurations with the final seeds, as reference rows
(e.g. the student chosen before a new one beat it; a student is taught by its teacher's final
seeds). ``--refit`` trains the chosen configuration once more with the final seeds on train +
validation (``--val_fraction=0``), each run for the median of the epochs its final seeds selected on
validation: the usual last step once validation has chosen everything (a distilled one is taught
on every training document; its teachers never trained on their validation part). ``--transductive``
trains that refit once more, its teachers' probabilities on the test texts added and the student
distilling on those texts too, unlabeled (a transductive row: the test documents are seen, their
labels never read). Test accuracy selects nothing. The baseline picks its C on the same validation split. Resumable like the seed table (finished runs
are read back; a killed one resumes from its checkpoint); ``--workers=N`` trains N runs at once.
Writes OUT.md, OUT.json and OUT.png.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time

from absl import flags, logging

from experiments import drivers, load
from experiments.ladder import CANDIDATES, DISTILLED, LADDER, REFERENCES
from experiments.ladder.input_bounds import text_svm
from ngjax import cli, files, variants
from ngjax.distill import ensemble, targets as distill, linear
from ngjax.config import Config, ConfigError
from ngjax.errors import NgjaxError


def define_flags() -> None:
    """The driver's flags (defined when it runs as a program, or by a test that drives its phases)."""
    drivers.define_common_flags("runs/beyond", "experiments/ladder/results/beyond")
    flags.DEFINE_integer("seeds", 1, "Seeds (replicas) per ladder step and candidate while choosing.")
    flags.DEFINE_integer("student_seeds", 1, "Each distilled student is tried as this many single-seed runs (seeds "
                         "0..K-1, in the folders its final seeds use, so a chosen one keeps them); its validation "
                         "figure is their mean, compared with the configuration to beat over the same seeds (its "
                         "final runs: paired initialisations and batch orders). Needs --seeds=1.")
    flags.DEFINE_integer("final_seeds", 5, "The configuration chosen on validation is trained as this many single-"
                         "seed runs (seeds 0..K-1; 0 or 1: not); their test accuracy is the ladder's result.")
    flags.DEFINE_list("variants", [name for name, _ in LADDER + CANDIDATES],
                      "Ladder steps and candidates to run, in order.")
    flags.DEFINE_list("distilled", [name for name, _ in DISTILLED],
                      "Distilled students tried after the final seeds (those whose teacher is the chosen configuration).")
    flags.DEFINE_list("compare", [], "Configurations also trained with the final seeds, as reference rows beside "
                      "the chosen one (e.g. an earlier chosen student); a distilled one is taught by the final "
                      "seeds of its teacher, which must be a chosen configuration of this run.")
    flags.DEFINE_bool("refit", False, "After choosing: train the chosen configuration again on train + validation "
                      "(--val_fraction=0) with the final seeds, for the median of its final seeds' selected epochs "
                      "(a distilled one taught on every training document by its teacher's final seeds).")
    flags.DEFINE_bool("transductive", False, "With --refit: also train the refit with the final seeds distilled on "
                      "the test texts, unlabeled, with its teachers' probabilities on them (--transductive): a "
                      "separate row, transductive (the model has seen the test texts, never their labels).")
    flags.DEFINE_string("prior", None, "An earlier ladder run's results (its OUT.json) that this run extends: its "
                        "configurations count as tried and join the table (marked), and a student of this run is "
                        "chosen only if it beats every one of them on validation (their runs are not needed).")
    flags.DEFINE_string("workers", "1", "Steps trained at once, each in its own process (a number or auto).")
    flags.DEFINE_list("svm_c", ["0.1", "0.3", "1", "3"], "C values the TF-IDF + LinearSVC baseline tries on validation.")


FLAGS = flags.FLAGS
STEPS = dict(LADDER + CANDIDATES + DISTILLED)


def make_jobs(names, seeds: int, suffix: str = "", seed: int = 0, **extra):
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        raise NgjaxError(f"--variants: unknown {unknown}; choose from {', '.join(STEPS)}")
    jobs = []
    for name in names:
        values = dict(load(name), experiment=name, data_dir=FLAGS.data_dir, seeds=seeds, seed=seed)
        if FLAGS["epochs"].present:
            values["epochs"] = FLAGS.epochs
        values.update(extra)
        if FLAGS.glove_path and values.get("embeddings", "glove") == "glove":
            values["glove_path"] = FLAGS.glove_path
        jobs.append((name, Config.from_dict(values), os.path.join(FLAGS.runs_dir, name + suffix)))
    return jobs


def final_jobs(name: str, k: int, tag: str = "", **extra):
    """The chosen configuration as K single-seed runs (seeds 0..K-1) in RUNS/NAME[TAG][_seedS]; with
    --seeds=1 the choosing run is seed 0. Separate runs, not one --seeds=K program: on a CPU, K replicas of a
    model with a 16M-parameter trainable table train slower vmapped than one after another."""
    return [job for s in range(k)
            for job in make_jobs([name], 1, tag + ("" if s == 0 and (tag or FLAGS.seeds == 1) else f"_seed{s}"),
                                 seed=s, **extra)]


def teacher_of(name: str):
    """(the configuration whose final seeds teach distilled variant ``name``, how they read the
    training documents): its module's TEACHER and TEACHER_OPTIONS (``ngjax.distill.teacher``'s delete, passes)."""
    mod = variants.module(name)
    return mod.TEACHER, dict(getattr(mod, "TEACHER_OPTIONS", {}))


def teacher_file(base: str, options: dict, dirs) -> str:
    """RUNS/teacher_BASE[_OPTIONS].npz, written once from ``dirs`` (a rerun reads it back). With the
    option ``cross_fit=K`` the teachers are instead K runs of BASE with --cv_folds=K, one per held-out
    fold (RUNS/BASE_foldI, trained here, read back when finished), each document's targets coming
    from the run that never saw it."""
    suffix = "".join(f"_{k}{v:g}" for k, v in sorted(options.items()))
    path = os.path.join(FLAGS.runs_dir, f"teacher_{base}{suffix}.npz")
    if not os.path.exists(path):
        options = dict(options)
        k = int(options.pop("cross_fit", 0))
        transductive = options.pop("transductive", False)
        copies = int(options.pop("mix_copies", 0))
        weight = float(options.pop("linear_weight", 0.0))
        linear.check(weight, bool(k))
        make = ensemble.ensemble_probabilities
        if k:
            dirs, make = cross_fit_runs(base, k), ensemble.cross_fitted_probabilities
        probs, labels, split = make(dirs, FLAGS.cache_dir, **options)
        whole = options.get("whole_train", False)
        test = ensemble.test_probabilities(dirs, FLAGS.cache_dir) if transductive else None
        mixes, mix_probs = (ensemble.mixed_probabilities(dirs, copies, MIX_LENGTH, 0, whole) if copies else (None, None))
        member = None
        if weight:
            probs, test, mix_probs, member = linear.blend_into(dirs, weight, linear.DEFAULT_CS, whole, probs, labels,
                                                                  test, mixes, mix_probs)
        distill.write(path, probs, labels, split, dirs, cross_fit=bool(k), test_probs=test, mixes=mixes,
                      mix_probs=mix_probs, linear=member, **options)
    TEACHER_FILES.setdefault(os.path.basename(path), teacher_summary(path))
    return path


MIX_LENGTH = 400  # mixed documents are cut within their first 400 words (ngjax.distill.teacher's default)
TEACHER_FILES: dict = {}  # the teacher files this run used: what each holds (for the results)


def teacher_summary(path: str) -> dict:
    """How sure a teacher file is of the training documents: its members, how often its argmax is
    the label, its mean top probability (the soft targets' raw material, before the temperature)."""
    import numpy as np

    with np.load(path) as f:
        probs, labels = f["probs"], f["labels"]
        flags_ = {k: bool(f[k]) for k in ("cross_fit", "whole_train") if k in f.files}
        members = [os.path.basename(str(m)) for m in f["members"]]
        if "test_probs" in f.files:
            flags_["test_texts"] = int(len(f["test_probs"]))
        if "mix_probs" in f.files:
            flags_["mixed"] = int(len(f["mix_probs"]))
            flags_["mixed_mean_top"] = float(f["mix_probs"].max(-1).mean())
        if "linear_weight" in f.files:
            flags_["linear"] = {k: float(f[f"linear_{k}"]) for k in ("weight", "C", "val_accuracy")}
    return {"members": members, "documents": int(len(labels)), **flags_,
            "agreement": float((probs.argmax(-1) == labels).mean()), "mean_top": float(probs.max(-1).mean())}


def teacher_line(name: str, t: dict) -> str:
    """One teacher file in the results: its runs, how it was made, how sure it is."""
    made = "".join(part for flag, part in (
        ("cross_fit", ", cross-fitted (each document from the run that held it out)"),
        ("whole_train", ", validation documents included")) if t.get(flag))
    if t.get("test_texts"):
        made += f", and the runs' probabilities on the {t['test_texts']:,} test texts (unlabeled)"
    if t.get("mixed"):
        made += (f", and on {t['mixed']:,} mixed training documents (mean top probability there "
                 f"{t['mixed_mean_top']:.3f})")
    if t.get("linear"):
        lin = t["linear"]
        made += (f"; every target blended with a TF-IDF + logistic regression member at weight {lin['weight']:.3g} "
                 f"(C={lin['C']:g} chosen on validation, where it scores {lin['val_accuracy']:.4f})")
    return (f"- `{name}`: {len(t['members'])} runs ({', '.join(t['members'])}){made}; {t['documents']} documents, "
            f"argmax = label on {t['agreement']:.4f}, mean top probability {t['mean_top']:.3f}")


def cross_fit_runs(base: str, k: int):
    """The K runs of ``base`` with --cv_folds=K (seed 0), one per held-out fold: their workdirs."""
    print(f"=== cross-fitting {base}: {k} runs, each with one fold of the training part held out", flush=True)
    done, _, code = drivers.train_all(
        lambda: [job for i in range(k) for job in make_jobs([base], 1, f"_fold{i}", cv_folds=k, cv_fold=i)],
        FLAGS.workers, FLAGS.cache_dir)
    if code:
        raise NgjaxError(f"a cross-fitted run of {base} failed (exit {code}); see its train.log in {FLAGS.runs_dir}")
    return [workdir for _, _, workdir in done]


def train_final(name: str, tag: str = "", **extra):
    """(merged row of the K final single-seed runs of ``name``, their workdirs, exit code)."""
    print(f"=== training {name}{tag} with seeds 0..{FLAGS.final_seeds - 1}", flush=True)
    done, _, code = drivers.train_all(lambda: final_jobs(name, FLAGS.final_seeds, tag, **extra), FLAGS.workers,
                                      FLAGS.cache_dir)
    if code:
        return None, [], code
    dirs = [workdir for _, _, workdir in done]
    return merged_row([row_of(name, d) for d in dirs], dirs, FLAGS.cache_dir), dirs, 0


def compare_phase(final_dirs: dict, tried):
    """The --compare configurations with the final seeds, and then their own --distilled students
    (one run each, tried rows that choose nothing: their teacher is not the chosen configuration):
    (compared rows, student rows, exit code). ``final_dirs``: the final seeds' workdirs of each
    configuration trained with them in this run (the compared ones are added, so a later --compare
student finds its teacher there); ``tried``: students already run."""
    rows, students = [], []
    for name in FLAGS.compare:
        if name in final_dirs:
            continue  # already a final row
        extra = {}
        if name in dict(DISTILLED):
            by, options = teacher_of(name)
            if by not in final_dirs:
                print(f"error: --compare={name}: its teacher {by} has no final seeds in this run; compare "
                      "students of a chosen configuration only", file=sys.stderr)
                return rows, students, 2
            extra["teacher"] = teacher_file(by, options, final_dirs[by])
        row, dirs, code = train_final(name, **extra)
        if code:
            return rows, students, code
        rows.append(row)
        final_dirs[name] = dirs
        more, _, code = train_students(name, dirs, set(tried) | {s["name"] for s in students})
        if code:
            return rows, students, code
        students += more
    return rows, students, 0


def refit_phase(final: dict, final_dirs: dict):
    """The chosen configuration trained again on train + validation (--val_fraction=0, no early
    stopping) with the final seeds, each for the median of the epochs its final seeds selected on
    validation (so validation still chose everything; it is now also trained on). A distilled one
    is taught on every training document by its teacher's final seeds (``ngjax.distill.teacher
    --whole_train``: their probabilities on their validation part are on documents they never
    trained on). Runs in RUNS/NAME_refit[_seedS]: (row, exit code)."""
    name = final["name"]
    epochs = int(statistics.median_low(int(e) for e in final["selected_epoch"].split("/")))
    extra = dict(val_fraction=0.0, early_stopping=0, epochs=epochs)
    if name in dict(DISTILLED):
        by, options = teacher_of(name)
        extra["teacher"] = teacher_file(by, dict(options, whole_train=True), final_dirs[by])
    print(f"=== refit on train + validation: {name}, {epochs} epochs (the median selected)", flush=True)
    row, _, code = train_final(name, "_refit", **extra)
    if row:
        row.update(refit_epochs=epochs, val=None, val_per_seed=None)  # validation was trained on
    return row, code


def transductive_phase(refit: dict, final_dirs: dict):
    """The refit of the chosen (distilled) configuration once more, with its teachers' probabilities on
    the test texts too (``ngjax.distill.teacher --transductive``), the student distilling on those texts,
    unlabeled (``--transductive``): same epochs and seeds as the refit, in RUNS/NAME_refit_transductive
    [_seedS]. A transductive result, its own row: (row, exit code)."""
    name, epochs = refit["name"], refit["refit_epochs"]
    by, options = teacher_of(name)
    path = teacher_file(by, dict(options, whole_train=True, transductive=True), final_dirs[by])
    print(f"=== refit, transductive (the unlabeled test texts distilled on too): {name}, {epochs} epochs", flush=True)
    row, _, code = train_final(name, "_refit_transductive", val_fraction=0.0, early_stopping=0, epochs=epochs,
                               teacher=path, transductive=True)
    if row:
        row.update(refit_epochs=epochs, val=None, val_per_seed=None, transductive=True,
                   test_texts=TEACHER_FILES[os.path.basename(path)]["test_texts"])
    return row, code


def train_students(teacher_name: str, teacher_dirs, tried=(), k: int = 1):
    """The --distilled students of ``teacher_name`` not in ``tried`` (its final seeds' ensemble as
    the teacher), one run each with --seeds, or with ``k`` > 1 as k single-seed runs (seeds 0..k-1, the
    folders of its final seeds) merged into one row: (rows, {name: teacher file}, exit code)."""
    names = [n for n in FLAGS.distilled if teacher_of(n)[0] == teacher_name and n not in tried]
    if not names:
        return [], {}, 0
    paths = {n: teacher_file(teacher_name, teacher_of(n)[1], teacher_dirs) for n in names}
    print("=== distillation: " + ", ".join(f"{n} from {os.path.basename(p)}" for n, p in paths.items())
          + (f" ({k} seeds each)" if k > 1 else ""), flush=True)
    runs_of = ((lambda n: final_jobs(n, k, teacher=paths[n])) if k > 1 else
               (lambda n: make_jobs([n], FLAGS.seeds, teacher=paths[n])))
    jobs, _, code = drivers.train_all(lambda: [j for n in names for j in runs_of(n)], FLAGS.workers, FLAGS.cache_dir)
    if code:
        return [], {}, code
    if k == 1:
        return [row_of(name, workdir) for name, _, workdir in jobs], paths, 0
    dirs = {n: [w for name, _, w in jobs if name == n] for n in names}
    return [merged_row([row_of(n, w) for w in dirs[n]], dirs[n], FLAGS.cache_dir) for n in names], paths, 0


def choosing_val(row: dict, k: int = 1) -> float:
    """A row's validation figure when students are chosen: its own with one seed per student; with
    --student_seeds=K > 1 the mean of its seeds 0..K-1 where it has that many runs (a configuration's
    final runs, or a student's K runs), else its own."""
    per = row.get("val_per_seed") or []
    if k > 1 and len(per) >= k:
        return statistics.fmean(per[:k])
    return row["val"][0]


def distill_phase(base: dict, teacher_dirs, tried=(), bar=None, final=None, k: int = 1):
    """Phase 3: the students of ``base`` (its final seeds' ensemble as the teacher), one run each
    with --seeds (or ``k`` single-seed runs each); the best on validation, if it beats ``base`` there (and
    ``bar``, the chosen row of --prior), trained with the final seeds. With ``k`` > 1 each side's figure is
    the mean of seeds 0..k-1 (``choosing_val``): a student's k runs against ``final``, base's final runs.
    Returns (student rows, final student row or None, its final workdirs, exit code)."""
    rows, paths, code = train_students(base["name"], teacher_dirs, tried, k)
    if code or not rows:
        return rows, None, [], code
    best = max(rows, key=lambda r: choosing_val(r, k))
    own = final if (final and k > 1) else base
    to_beat = max([own] + ([bar] if bar else []), key=lambda r: choosing_val(r, k))
    if choosing_val(best, k) <= choosing_val(to_beat, k):
        print(f"=== no student beats {to_beat['name']}{' (--prior)' if to_beat is bar else ''} on validation "
              f"({choosing_val(best, k):.4f} <= {choosing_val(to_beat, k):.4f}"
              f"{f', mean of seeds 0..{k - 1}' if k > 1 else ''})", flush=True)
        return rows, None, [], 0
    print(f"=== {best['name']} beats {to_beat['name']}{' (--prior)' if to_beat is bar else ''} on validation "
          f"({choosing_val(best, k):.4f} > {choosing_val(to_beat, k):.4f}"
          f"{f', mean of seeds 0..{k - 1}' if k > 1 else ''}): chosen", flush=True)
    final, dirs, code = train_final(best["name"], teacher=paths[best["name"]])
    return rows, final, dirs, code


def ensemble_accuracies(workdirs, cache_dir) -> list:
    """Test accuracy of the averaged probabilities of the first k runs, k = 1..K (each run at its
    best validation epoch)."""
    from ngjax.data.dataset import load_dataset
    from ngjax.run.report import predict_proba
    from ngjax.run.workdir import load_run

    total, ds, out = None, None, []
    for workdir in workdirs:
        run = load_run(workdir)
        ds = ds or load_dataset(run.cfg, cache_dir)  # the same split and tokenizer for every seed
        p = predict_proba(run.params, ds.x_test, run.spec, batch_size=256)
        total = p if total is None else total + p
        out.append(float((total.argmax(-1) == ds.y_test).mean()))
    return out


def merged_row(rows, workdirs, cache_dir) -> dict:
    """One row for K single-seed runs of a configuration: mean ± std over them, and their ensemble."""
    val = [r["val"][0] for r in rows]
    test = [r["test"][0] for r in rows]
    by_size = ensemble_accuracies(workdirs, cache_dir)
    return dict(rows[0], seeds=len(rows), val=_stats(val), test=_stats(test), val_per_seed=val, test_per_seed=test,
                ensemble_test=by_size[-1], ensemble_by_size=by_size,
                selected_epoch="/".join(str(r["selected_epoch"]) for r in rows),
                epochs_run="/".join(str(r["epochs_run"]) for r in rows),
                seconds_per_epoch=statistics.median(r["seconds_per_epoch"] for r in rows),
                train_seconds=sum(r["train_seconds"] for r in rows))


def noise_note(val: float, documents: int, seeds: int = 1, spread: float = 0.0, name: str = "") -> str:
    """How far apart two validation accuracies must be before one seed can tell them apart; with
    ``seeds`` > 1, what a mean of that many seeds averages out (``spread``: the std on validation of the
    runs of configuration ``name``)."""
    se = math.sqrt(val * (1 - val) / documents)
    note = (f"Validation holds {documents:,} documents (one is {1 / documents:.4f}); at {val:.4f} a single run's "
            f"validation accuracy has a binomial standard error of {se:.4f}, so configurations within about "
            f"{2 * se:.3f} of each other are not told apart by one seed's validation accuracy")
    if seeds > 1:
        note += (f"; a mean of {seeds} seeds averages out the training noise ({name}'s runs spread "
                 f"by ± {spread:.4f} on validation, so a {seeds}-seed mean by about ± {spread / math.sqrt(seeds):.4f}), "
                 "not the draw of the documents, which every run shares")
    return note + "."


def _stats(values):
    if any(math.isnan(v) for v in values):  # a run without a validation split
        return math.nan, math.nan
    return statistics.fmean(values), (statistics.pstdev(values) if len(values) > 1 else 0.0)


def row_of(name: str, workdir: str) -> dict:
    """One ladder step from its run folder: the selected (best validation) epoch's numbers."""
    history, config = drivers.read_run(workdir)
    summary = files.read_json(os.path.join(workdir, "summary.json"))
    sel = summary.get("selected") or history[-1]
    per = sel.get("per_seed", {})
    val = per.get("val_accuracy", [sel.get("val_accuracy", float("nan"))])
    test = per.get("test_accuracy", [sel["test_accuracy"]])
    secs = sorted(h["epoch_seconds"] for h in history)
    return {"name": name, "step": STEPS[name], "seeds": len(test), "epochs_run": len(history),
            "selected_epoch": sel["epoch"], "val": _stats(val), "test": _stats(test),
            "test_per_seed": test, "ensemble_test": sel.get("test_ensemble_accuracy"),
            "params": summary["params"]["total"], "trainable": summary["params"]["trainable"],
            "seconds_per_epoch": secs[len(secs) // 2], "train_seconds": sum(secs),
            "stopped_early": summary.get("stopped_early"), "config": config}


def table(rows, svm, finals=(), compared=(), refits=()) -> str:
    """The markdown table: steps and candidates, then each final K-seed row (the last is the chosen
    single model), the K-seed rows of --compare, of --refit and of --transductive, the baseline and
    the references."""
    lines = ["| step | what it adds | seeds | val acc (mean ± std) | test acc (mean ± std) | ensemble test | "
             "epochs (selected) | params (trainable) | s/epoch | train s |", "|---|---|---|---|---|---|---|---|---|---|"]
    finals, compared, refits = list(finals), list(compared), list(refits)
    for r in rows + finals + compared + refits:
        ens = f"{r['ensemble_test']:.4f}" if r["ensemble_test"] is not None else "-"
        if r in finals:
            role = "chosen" if r is finals[-1] else "teacher ensemble's members"
            name = f"**{r['name']}, {role}, {r['seeds']} seeds**"
        elif r in compared:
            name = f"**{r['name']}, compared, {r['seeds']} seeds**"
        elif r in refits and r.get("transductive"):
            name = f"**{r['name']}, refit, transductive, {r['seeds']} seeds**"
        elif r in refits:
            name = f"**{r['name']}, refit on train + validation, {r['seeds']} seeds**"
        else:
            name = r["name"] + (" (earlier run)" if r.get("prior") else "")
        what = r["step"] if r["name"] in dict(LADDER) or r in finals + compared else f"(tried) {r['step']}"
        if r in refits:
            what = f"the chosen configuration trained on train + validation for {r['refit_epochs']} epochs"
            if r.get("transductive"):
                what = (f"the refit ({r['refit_epochs']} epochs) also distilled on the unlabeled test texts "
                        "(transductive: it has seen the test documents, never their labels)")
        val = "- (trained on)" if r in refits else f"{r['val'][0]:.4f} ± {r['val'][1]:.4f}"
        lines.append(f"| {name} | {what} | {r['seeds']} | {val} | "
                     f"**{r['test'][0]:.4f} ± {r['test'][1]:.4f}** | {ens} | {r['epochs_run']} ({r['selected_epoch']}) | "
                     f"{r['params']:,} ({r['trainable']:,}) | {r['seconds_per_epoch']:.1f} | {r['train_seconds']:.0f} |")
    if svm:
        lines.append(f"| TF-IDF + LinearSVC (this split, C={svm['C']:g} chosen on val) | baseline | - | "
                     f"{svm['val']:.4f} | **{svm['test']:.4f}** | - | - | - | - | - |")
    for label, acc in REFERENCES:
        lines.append(f"| {label} | published | - | - | {acc:.4f} | - | - | - | - | - |")
    return "\n".join(lines)


def plot(rows, svm, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5))
    xs = range(len(rows))
    for key, label, dx in (("val", "validation", -0.15), ("test", "test", 0.15)):
        shown = [(x, r[key]) for x, r in zip(xs, rows) if r[key] is not None]  # a refit row has no validation
        ax.errorbar([x + dx for x, _ in shown], [m for _, (m, _) in shown], yerr=[s for _, (_, s) in shown],
                    fmt="o", capsize=3, label=f"{label} (best validation epoch, mean ± std)")
    ens = [(x, r["ensemble_test"]) for x, r in zip(xs, rows) if r.get("ensemble_test") is not None]
    if ens:
        ax.plot([x + 0.15 for x, _ in ens], [a for _, a in ens], "*", ms=12, color="C3",
                label="test, ensemble of the seeds (averaged probabilities)")
    if svm:
        ax.axhline(svm["test"], color="gray", ls="--", lw=1, label=f"TF-IDF + LinearSVC test {svm['test']:.3f}")
    ax.axhline(0.8668, color="black", ls=":", lw=1, label="best published recurrent (J&Z 2016) 0.867")
    names = [r["name"].replace("beyond_", "") + (" refit" if r.get("refit_epochs") else "")
             + (" transductive" if r.get("transductive") else "")
             + (f" x{r['seeds']}" if r["seeds"] > 1 else "") for r in rows]
    ax.set_xticks(list(xs), names, rotation=30, ha="right")
    ax.set_ylabel("accuracy")
    ax.set_title("The ladder past the seed and the candidates, chosen on validation")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    files.save_figure(fig, path)
    plt.close(fig)


def _final_val(prior: dict, name: str, depth: int = 0):
    """The validation accuracies of ``name``'s final runs in a ladder results file, or in the earlier one it
    extended (its own --prior, followed back), or None."""
    for final in prior.get("finals") or []:
        if final["name"] == name:
            return final.get("val_per_seed")
    if prior.get("prior") and depth < 20:
        try:
            earlier = files.read_json(prior["prior"])
        except (OSError, ValueError) as e:
            raise ConfigError(f"--prior: the earlier results file it extends, {prior['prior']}, cannot be read ({e}); "
                              "run from the folder that path is relative to (the repository root)") from None
        return _final_val(earlier, name, depth + 1)
    return None


def prior_rows(path):
    """The --prior run's tried rows (marked ``prior``), the row to beat (its chosen configuration, carrying
    the validation accuracies of that configuration's final runs; else its best row on validation) and the
    number of configurations it tried; ([], None, 0) without --prior."""
    if not path:
        return [], None, 0
    try:
        prior = files.read_json(path)
        rows = [dict(r, prior=True) for r in prior["rows"] + prior["students"] + prior.get("earlier", [])]
        bar = max(rows, key=lambda r: r["val"][0])
        chosen = [r for r in rows if r["name"] == prior.get("chosen")]
        if chosen:
            bar = dict(chosen[0], val_per_seed=_final_val(prior, chosen[0]["name"]))
        return rows, bar, int(prior["configurations_tried"])
    except ConfigError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"--prior={path}: not a ladder results file ({e}); give the OUT.json an earlier "
                          "python -m experiments.ladder wrote") from None


def main(argv):
    if FLAGS.seeds < 1:
        raise ConfigError(f"--seeds={FLAGS.seeds}: must be >= 1 (replicas per step while choosing)")
    if FLAGS.final_seeds < 0:
        raise ConfigError(f"--final_seeds={FLAGS.final_seeds}: must be >= 0")
    if FLAGS.student_seeds < 1 or (FLAGS.student_seeds > 1 and FLAGS.seeds != 1):
        raise ConfigError(f"--student_seeds={FLAGS.student_seeds}: give 1 or more, and with more than 1 use "
                          f"--seeds=1 (now {FLAGS.seeds}): a student's seeds are single-seed runs")
    if FLAGS.transductive and not FLAGS.refit:
        raise ConfigError("--transductive trains the refit again on the unlabeled test texts too; add --refit")
    if FLAGS.refit and FLAGS.final_seeds < 2:
        raise ConfigError(f"--refit retrains the chosen configuration with the final seeds; give --final_seeds "
                          f"of 2 or more (now {FLAGS.final_seeds}) or drop --refit")
    unknown = [n for n in FLAGS.distilled if n not in dict(DISTILLED)]
    if unknown:
        raise ConfigError(f"--distilled: unknown {unknown}; choose from {', '.join(dict(DISTILLED))}")
    unknown = [n for n in FLAGS.compare if n not in STEPS]
    if unknown:
        raise ConfigError(f"--compare: unknown {unknown}; choose from {', '.join(STEPS)}")
    earlier, bar, earlier_tried = prior_rows(FLAGS.prior)
    earlier_names = {r["name"] for r in earlier}
    t0 = time.time()
    jobs, workers, code = drivers.train_all(lambda: make_jobs(FLAGS.variants, FLAGS.seeds), FLAGS.workers,
                                            FLAGS.cache_dir)
    if code:
        return code
    rows = [row_of(name, workdir) for name, _, workdir in jobs]
    best = max(rows, key=lambda r: r["val"][0])  # validation only; ties keep the earlier (simpler) step
    finals, students, compared, final_dirs, refit, transductive = [], [], [], {}, None, None
    if FLAGS.final_seeds > 1:
        print(f"=== chosen on validation: {best['name']} (val {best['val'][0]:.4f})", flush=True)
        final, dirs, code = train_final(best["name"])
        if code:
            return code
        finals.append(final)
        final_dirs[best["name"]] = dirs
        while True:  # a student that wins becomes the chosen model, and its own students are tried next
            tried, student_final, dirs, code = distill_phase(best, dirs, {r["name"] for r in students}, bar,
                                                             finals[-1], FLAGS.student_seeds)
            if code:
                return code
            students += tried
            if not student_final:
                break
            best = max(tried, key=lambda r: choosing_val(r, FLAGS.student_seeds))
            finals.append(student_final)
            final_dirs[best["name"]] = dirs
        compared, more, code = compare_phase(final_dirs, {r["name"] for r in students})
        if code:
            return code
        students += more
        if FLAGS.refit and bar and len(finals) == 1:
            print(f"=== not run: --refit (no configuration of this run beats {bar['name']} of --prior)", flush=True)
        elif FLAGS.refit:
            refit, code = refit_phase(finals[-1], final_dirs)
            if code:
                return code
        if FLAGS.transductive and finals[-1]["name"] not in dict(DISTILLED):
            print(f"=== not run: --transductive (the chosen {finals[-1]['name']} is not distilled, so has no "
                  "teachers to label the test texts)", flush=True)
        elif FLAGS.transductive:
            transductive, code = transductive_phase(refit, final_dirs)
            if code:
                return code
        idle = [n for n in FLAGS.distilled if n not in {r["name"] for r in students}]
        if idle:
            print(f"=== not run: {idle} (their teacher is not a chosen or compared configuration)", flush=True)
    cfg = jobs[0][1]
    svm = text_svm(FLAGS.data_dir, cfg.val_fraction, cfg.val_seed, FLAGS.svm_c) if FLAGS.svm_c else None
    refits = [r for r in (refit, transductive) if r]
    here = {r["name"] for r in rows + students}
    earlier = [r for r in earlier if r["name"] not in here]
    md = table(rows + students + earlier, svm, finals, compared, refits)
    configs = len(here) + (len(svm["tried"]) if svm else 0)
    tried_text = f"{configs} ({len(here)} networks, {len(svm['tried']) if svm else 0} SVM C values)"
    if FLAGS.prior:  # the earlier run's configurations (its baseline's C values among them) and this run's new ones
        configs = earlier_tried + len(here - earlier_names)
        tried_text = (f"{configs} ({earlier_tried} in the earlier run `{FLAGS.prior}`, whose rows are marked "
                      f"'earlier run' below, and {len(here - earlier_names)} new here)")
    result = finals[-1] if finals else best
    teach = ""
    if len(finals) > 1:
        weight = teacher_of(finals[-1]["name"])[1].get("linear_weight")
        teach = (f" (distilled from the {finals[-2]['seeds']}-run ensemble of {finals[-2]['name']}, whose own "
                 f"{finals[-2]['seeds']} seeds give {finals[-2]['test'][0]:.4f} ± {finals[-2]['test'][1]:.4f}"
                 + (f", with a TF-IDF + logistic regression member at weight {weight:.3g}" if weight else "") + ")")
    k = FLAGS.student_seeds
    spread_of = bar if bar and bar.get("val_per_seed") else finals[-1] if finals else None
    spread = _stats(spread_of["val_per_seed"])[1] if spread_of and spread_of.get("val_per_seed") else 0.0
    paired = (f"Each distilled student was tried with {k} seeds (0..{k - 1}): its validation figure is their mean, "
              f"compared with the same seeds of the configuration to beat (paired: the same initialisations and "
              f"batch orders). " if k > 1 else "")
    header = (f"# Beyond the seed: the ladder ({FLAGS.seeds} seed(s) per step while choosing"
              f"{f', {k} per distilled student' if k > 1 else ''}"
              f"{f', {FLAGS.final_seeds} for the chosen configuration' if finals else ''}"
              f"{' and the compared ones' if compared else ''})\n\nCommand: "
              f"`{drivers.command('experiments.ladder')}`\n\nProtocol: validation split of {cfg.val_fraction:g} "
              f"of train (seed {cfg.val_seed}); every number is at each run's best validation epoch; test "
              f"selects nothing. Configurations tried: {tried_text}. " + paired
              + (f"No student of this run beats the earlier run's choice on validation, **{bar['name']}** (val "
                 f"{choosing_val(bar, k):.4f}{f', mean of seeds 0..{k - 1}' if k > 1 else ''}): its choice and "
                 "result stand. This run's last final configuration, "
                 if bar and len(finals) <= 1 else "Chosen on validation: ")
              + f"**{best['name']}** "
              f"(val {best['val'][0]:.4f} with {best['seeds']} seed(s)"
              + (f"; the earlier run's choice, {bar['name']}, {choosing_val(bar, k):.4f} over the same seeds"
                 if bar and len(finals) > 1 else "") + f"){teach}; its result: test "
              f"**{result['test'][0]:.4f} ± {result['test'][1]:.4f}** over {result['seeds']} seed(s)"
              + (f", ensemble of the {result['seeds']} replicas {result['ensemble_test']:.4f}"
                 if result["ensemble_test"] is not None else "")
              + (f"; refit on train + validation ({refit['refit_epochs']} epochs, the median its final seeds "
                 f"selected): test **{refit['test'][0]:.4f} ± {refit['test'][1]:.4f}** over {refit['seeds']} seeds, "
                 f"ensemble {refit['ensemble_test']:.4f}" if refit else "")
              + (f"; the refit also distilled on the {transductive['test_texts']:,} "
                 f"unlabeled test texts (transductive: the test documents seen, never their labels; not "
                 f"comparable with the inductive numbers): test **{transductive['test'][0]:.4f} ± "
                 f"{transductive['test'][1]:.4f}**, ensemble {transductive['ensemble_test']:.4f}" if transductive else "")
              + f". Driver wall time {time.time() - t0:.0f} s with {workers} run(s) at once (finished runs are "
              "read back)." + (" " + noise_note(max(best["val"][0], choosing_val(bar, k) if bar else 0.0),
                                                svm["val_documents"], k, spread,
                                                spread_of["name"] if spread_of else "") if svm else "") + "\n\n")
    if TEACHER_FILES:
        md += "\n\nTeacher files (their probabilities on the training documents, before the temperature):\n\n" + "\n".join(
            teacher_line(name, t) for name, t in sorted(TEACHER_FILES.items()))
    for final in finals + compared + refits:
        what = final["name"] + (" refit on train + validation" if final is refit else "") + (
            " refit, transductive" if final is transductive else "")
        md += (f"\n\nEnsemble of the first k seeds of {what} (test accuracy of their averaged "
               "probabilities): " + ", ".join(f"k={k}: {a:.4f}" for k, a in enumerate(final["ensemble_by_size"], 1)) + ".")
    drivers.write_results(FLAGS.out, header + md + f"\n\n![ladder]({os.path.basename(FLAGS.out)}.png)\n",
                          {"rows": rows, "students": students, "earlier": earlier, "prior": FLAGS.prior,
                           "final": finals[-1] if finals else None,
                           "finals": finals, "compared": compared, "refit": refit, "transductive": transductive, "teacher_files": TEACHER_FILES, "svm": svm, "references": REFERENCES,
                           "chosen": bar["name"] if bar and len(finals) <= 1 else best["name"],
                           "configurations_tried": configs, "command": sys.argv[1:]})
    plot(rows + students + finals + compared + refits, svm, FLAGS.out + ".png")
    print(md)
    return 0


def run() -> None:
    """``python -m experiments.ladder``."""
    define_flags()
    cli.run(main, logging.WARNING)  # bad input: one "error:" line and a non-zero exit


if __name__ == "__main__":
    run()
