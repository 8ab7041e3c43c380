#!/usr/bin/env bash
# Chooses cytocon-map's Viterbi penalty from a sweep on X_te (docs/map.md "Choosing the penalty"):
#   cytocon-map --checkpoint CKPT --data DIR --split test --sweep 0,0.01,... --out DIR
#   scripts/choose_penalty.sh DIR/penalty_sweep.csv      # prints the chosen penalty
# Rule: the lowest symmetric border distance (mean over reference borders' distance to the
# nearest predicted border and predicted borders' distance to the nearest reference border);
# ties (to 1e-6 mm) go to the higher weighted F1, then to the smaller penalty. Only X_te is looked
# at: X_un stays unseen until the penalty is fixed.
set -euo pipefail
sweep=${1:?usage: scripts/choose_penalty.sh PENALTY_SWEEP.csv}
[ -r "$sweep" ] || { echo "choose_penalty: $sweep: not readable" >&2; exit 1; }
awk -F, 'NR == 1 {
           if ($1 != "penalty" || $4 != "f1_weighted" || $10 != "symmetric_mean_mm") {
             print FILENAME ": expected the header of penalty_sweep.csv" > "/dev/stderr"; exit 1 }
           next }
         $5 == 0 { next }  # no reference border: nothing to choose by
         !found || $10 < best - 1e-6 || ($10 <= best + 1e-6 && ($4 > f1 || ($4 == f1 && $1 < lam))) {
           found = 1; best = $10; f1 = $4; lam = $1 }
         END { if (!found) { print FILENAME ": no penalty with reference borders" > "/dev/stderr"; exit 1 }
               print lam }' "$sweep"
