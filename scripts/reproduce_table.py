#!/usr/bin/env python3
"""Tables and decisions of the study in docs/reproduction.md, from scripts/reproduce.sh's output.

Reads OUT/eval/NAME-SPLIT/metrics.json (cytocon-eval) and OUT/runs/NAME/{DONE,DIVERGED}, where NAME
is DATASET-METHOD-nN-fFACTOR-sSEED and METHOD is contrastive (SupCon + linear probe) or scratch.

  reproduce_table.py --out OUT --n N --factors F... [--ablation N...]   the markdown table (stdout)
  reproduce_table.py --out OUT --best DATASET METHOD N F...             the tuned factor (stdout)
  reproduce_table.py --out OUT --n N --factors F... --contrastive-loses exit 0 if the ablation is due

Standard library only (python3 is all the study needs besides cytocon).
"""
import argparse
import json
import math
import os
import re
import statistics
import sys

METHODS = ("contrastive", "scratch")
DATASETS = ("demo", "hard")
SPLITS = (("test", "X_te"), ("unseen", "X_un"))
METRICS = (("f1_weighted", "F1"), ("top1", "top-1"), ("top3", "top-3"))
SEEDS = (1, 2, 3)
# two-sided 95% Student t quantiles by degrees of freedom
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571}
NAME = re.compile(r"^(?P<d>[a-z]+)-(?P<m>[a-z]+)-n(?P<n>\d+)-f(?P<f>[0-9.]+)-s(?P<s>\d+)$")


def name(d, m, n, f, s):
    return f"{d}-{m}-n{n}-f{f}-s{s}"


class Study:
    def __init__(self, out):
        self.out = out

    def status(self, run):
        """'done', 'diverged', or None (not run yet / unfinished)."""
        base = os.path.join(self.out, "runs", run)
        if os.path.exists(os.path.join(base, "DIVERGED")):
            return "diverged"
        return "done" if os.path.exists(os.path.join(base, "DONE")) else None

    def metrics(self, run, split):
        """metrics.json of an evaluation as a dict, or None when it does not exist yet."""
        path = os.path.join(self.out, "eval", f"{run}-{split}", "metrics.json")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)

    def value(self, run, split, metric):
        m = self.metrics(run, split)
        return None if m is None else 100.0 * m[metric]


def mean_sd(xs):
    if not xs:
        return "–"
    if len(xs) == 1:
        return f"{xs[0]:.1f} (1 seed)"
    return f"{statistics.mean(xs):.1f} ± {statistics.stdev(xs):.1f}" + ("" if len(xs) == 3 else f" ({len(xs)} seeds)")


def paired(study, d, n, fc, fs, split, metric):
    """Per-seed differences contrastive - scratch where both exist."""
    out = []
    for s in SEEDS:
        a = study.value(name(d, "contrastive", n, fc, s), split, metric)
        b = study.value(name(d, "scratch", n, fs, s), split, metric)
        if a is not None and b is not None:
            out.append(a - b)
    return out


def verdict(diffs):
    """The decision rule of docs/reproduction.md §5: the paired 95% t interval of the difference."""
    if len(diffs) < len(SEEDS):
        return f"incomplete ({len(diffs)} of {len(SEEDS)} seeds)", None
    m, sd = statistics.mean(diffs), statistics.stdev(diffs)
    half = T975[len(diffs) - 1] * sd / math.sqrt(len(diffs))
    ci = (m - half, m + half)
    if ci[0] > 0:
        v = "contrastive ahead"
    elif ci[1] < 0:
        v = "scratch ahead"
    else:
        v = "no clear difference"
    return f"{v}: Δ = {m:+.1f}, 95% CI [{ci[0]:+.1f}, {ci[1]:+.1f}]", m


def best_factor(study, d, method, n, factors):
    """Highest X_te weighted F1 at seed 1; ties go to the smaller factor; diverged runs never win."""
    best, best_f1 = None, None
    for f in sorted(factors, key=float):
        run = name(d, method, n, f, 1)
        if study.status(run) != "done":
            continue
        f1 = study.value(run, "test", "f1_weighted")
        if f1 is not None and (best_f1 is None or f1 > best_f1):
            best, best_f1 = f, f1
    return best


def tuned(study, d, n, factors):
    return (best_factor(study, d, "contrastive", n, factors) or factors[0],
            best_factor(study, d, "scratch", n, factors) or factors[0])


def arms(study, d, n, factors):
    fc, fs = tuned(study, d, n, factors)
    return [("paper lr (factor 1)", factors[0], factors[0]), (f"tuned lr (contrastive ×{fc}, scratch ×{fs})", fc, fs)]


def table(study, n, factors, ablation):
    lines = []
    w = lines.append
    w("## Main table: mean ± sd over seeds (%)")
    w("")
    w("| dataset | optimiser | method | " + " | ".join(f"{s} {m}" for _, s in SPLITS for _, m in METRICS) + " |")
    w("| --- | --- | --- | " + " | ".join("---:" for _ in SPLITS for _ in METRICS) + " |")
    for d in DATASETS:
        for arm, fc, fs in arms(study, d, n, factors):
            for method, f in (("contrastive", fc), ("scratch", fs)):
                cells = []
                for split, _ in SPLITS:
                    for metric, _ in METRICS:
                        xs = [study.value(name(d, method, n, f, s), split, metric) for s in SEEDS]
                        cells.append(mean_sd([x for x in xs if x is not None]))
                diverged = sum(study.status(name(d, method, n, f, s)) == "diverged" for s in SEEDS)
                label = method + (f" ({diverged} diverged)" if diverged else "")
                w(f"| {d} | {arm} | {label} | " + " | ".join(cells) + " |")
    w("")
    w("## Decision (primary: weighted F1 on X_un; paired by seed, contrastive − scratch)")
    w("")
    w("| dataset | optimiser | X_un F1 (primary) | X_te F1 |")
    w("| --- | --- | --- | --- |")
    for d in DATASETS:
        for arm, fc, fs in arms(study, d, n, factors):
            un = verdict(paired(study, d, n, fc, fs, "unseen", "f1_weighted"))[0]
            te = verdict(paired(study, d, n, fc, fs, "test", "f1_weighted"))[0]
            w(f"| {d} | {arm} | {un} | {te} |")
    w("")
    w("## Learning-rate choice (seed 1, weighted F1 %; chosen on X_te only)")
    w("")
    w("| dataset | method | " + " | ".join(f"×{f} X_te" for f in factors) + " | " +
      " | ".join(f"×{f} X_un" for f in factors) + " |")
    w("| --- | --- | " + " | ".join("---:" for _ in factors) * 1 + " | " + " | ".join("---:" for _ in factors) + " |")
    for d in DATASETS:
        for method in METHODS:
            cells = []
            for split in ("test", "unseen"):
                for f in factors:
                    run = name(d, method, n, f, 1)
                    st = study.status(run)
                    v = study.value(run, split, "f1_weighted")
                    cells.append("diverged" if st == "diverged" else ("–" if v is None else f"{v:.1f}"))
            w(f"| {d} | {method} | " + " | ".join(cells) + " |")
    if ablation:
        w("")
        w("## Ablation: global batch N (dataset demo, tuned lr scaled with N; mean ± sd, %)")
        w("")
        fc, fs = tuned(study, "demo", n, factors)
        w("| N | positives per area | method | X_te F1 | X_un F1 | X_un top-1 |")
        w("| ---: | ---: | --- | ---: | ---: | ---: |")
        for nn in sorted([int(x) for x in ablation] + [n]):
            for method, f in (("contrastive", fc), ("scratch", fs)):
                cells = [mean_sd([x for x in (study.value(name("demo", method, nn, f, s), sp, me) for s in SEEDS)
                                  if x is not None])
                         for sp, me in (("test", "f1_weighted"), ("unseen", "f1_weighted"), ("unseen", "top1"))]
                w(f"| {nn} | {nn // 8} | {method} | " + " | ".join(cells) + " |")
    w("")
    w("## Every evaluated run (%)")
    w("")
    w("| run | " + " | ".join(f"{s} {m}" for _, s in SPLITS for _, m in METRICS) + " |")
    w("| --- | " + " | ".join("---:" for _ in SPLITS for _ in METRICS) + " |")
    runs = sorted(os.listdir(os.path.join(study.out, "runs"))) if os.path.isdir(os.path.join(study.out, "runs")) else []
    for run in runs:
        mt = NAME.match(run)
        if not mt or mt["m"] not in METHODS:
            continue
        if study.status(run) == "diverged":
            w(f"| {run} | " + " | ".join("diverged" for _ in SPLITS for _ in METRICS) + " |")
            continue
        vals = [study.value(run, sp, me) for sp, _ in SPLITS for me, _ in METRICS]
        if all(v is None for v in vals):
            continue
        w(f"| {run} | " + " | ".join("–" if v is None else f"{v:.1f}" for v in vals) + " |")
    return "\n".join(lines) + "\n"


def contrastive_loses(study, n, factors):
    """The ablation's trigger (docs/reproduction.md §6): with the tuned lr, the mean paired
    difference of X_un weighted F1 is below 0 on either dataset."""
    for d in DATASETS:
        fc, fs = tuned(study, d, n, factors)
        diffs = paired(study, d, n, fc, fs, "unseen", "f1_weighted")
        if diffs and statistics.mean(diffs) < 0:
            return True
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int)
    ap.add_argument("--factors", nargs="+")
    ap.add_argument("--ablation", nargs="*", default=[])
    ap.add_argument("--best", nargs="+", metavar="ARG", help="DATASET METHOD N FACTOR...")
    ap.add_argument("--contrastive-loses", action="store_true")
    a = ap.parse_args()
    study = Study(a.out)
    if a.best:
        d, method, n, factors = a.best[0], a.best[1], int(a.best[2]), a.best[3:]
        print(best_factor(study, d, method, n, factors) or factors[0])
        return 0
    if not a.n or not a.factors:
        ap.error("--n and --factors are needed for the table")
    if a.contrastive_loses:
        return 0 if contrastive_loses(study, a.n, a.factors) else 1
    sys.stdout.write(table(study, a.n, a.factors, a.ablation))
    return 0


if __name__ == "__main__":
    sys.exit(main())
