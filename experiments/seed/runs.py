"""The seed's experiments 1-5 (6 with a 200-d GloVe file) once each, beside the seed's numbers.

Command (what produced experiments/seed/results/seed_runs.md):
    python -m experiments.seed.runs --data_dir=../shared/data/20news-bydate.tar.gz \
        --runs_dir=runs/seed --epochs=50

The one-seed case of ``experiments.seed.table`` (same jobs, same runner: a killed driver resumes
where it stopped, a finished variant is read back), tabulated the way the seed reported its runs:
test accuracy after the first and the last epoch, the best epoch, the final train loss, s/epoch.
Copies experiment 1's report figures next to the table (the README shows them).
"""

from __future__ import annotations

import os
import shutil
import time

from absl import flags, logging

from experiments import drivers
from experiments.seed import table as seed_table
from experiments.seed import SEED_RESULTS, SEED_VARIANTS
from ngjax import cli
from ngjax import files

if __name__ == "__main__":
    drivers.define_common_flags("runs/seed", "experiments/seed/results/seed_runs")
    flags.DEFINE_string("workers", "1", "Variants trained at once (as experiments.seed.table --workers).")
FLAGS = flags.FLAGS


def table(rows) -> str:
    head = ("| experiment | seed test acc (ep 1 -> last) | ngjax test acc (ep 1 -> last) | "
            "ngjax best | ngjax final train loss (seed) | embedding dim | epochs | s/epoch |\n"
            "|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        lines.append(f"| {r['label']} | {r['seed_first']:.4f} -> **{r['seed_last']:.4f}** | "
                     f"{r['first']:.4f} -> **{r['last']:.4f}** | {r['best']:.4f} | "
                     f"{r['train_loss']:.4f} ({r['seed_train_loss']:.4f}) | {r['dim']} | "
                     f"{r['epochs']} | {r['sec_per_epoch']:.2f} |")
    return "\n".join(lines)


def _row(name: str, workdir: str) -> dict:
    hist, config = drivers.read_run(workdir)
    summary = files.read_json(os.path.join(workdir, "summary.json"))
    label, s_first, s_last, s_loss = SEED_RESULTS[name]
    secs = [h["epoch_seconds"] for h in hist[1:]] or [hist[0]["epoch_seconds"]]
    return dict(name=name, label=label, seed_first=s_first, seed_last=s_last, seed_train_loss=s_loss,
                first=hist[0]["test_accuracy"], last=hist[-1]["test_accuracy"],
                best=max(h["test_accuracy"] for h in hist), train_loss=hist[-1]["train_loss"],
                epochs=len(hist), dim=config["embed_dim"], sec_per_epoch=sorted(secs)[len(secs) // 2],
                params=summary["params"])


def main(argv):
    t0 = time.time()
    jobs, _, code = drivers.train_all(lambda: seed_table.make_jobs(seed_table.variant_names(SEED_VARIANTS), seeds=1),
                                      FLAGS.workers, FLAGS.cache_dir)
    if code:
        return code
    rows = [_row(name, workdir) for name, _, workdir in jobs]
    md = table(rows)
    for kind in ("curves", "confusion"):  # the README shows experiment 1's report figures
        src = os.path.join(FLAGS.runs_dir, "seed_lstm", "plots", f"{kind}.png")
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(os.path.dirname(FLAGS.out) or ".", f"seed_lstm_{kind}.png"))
    header = (f"# Seed experiments, one run each (ngjax)\n\nCommand: `{drivers.command('experiments.seed.runs')}`"
              f"\n\nDriver wall time: {time.time() - t0:.0f} s (runs already finished are read back, not "
              f"retrained). s/epoch: median of epochs 2.., training + test evaluation + checkpoint.\n\n")
    drivers.write_results(FLAGS.out, header + md + "\n", rows)
    print(md)
    return 0


if __name__ == "__main__":
    cli.run(main, logging.WARNING)  # bad input: one "error:" line and a non-zero exit
