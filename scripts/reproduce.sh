#!/usr/bin/env bash
# The pre-registered study of docs/reproduction.md (issue 14): SupCon + linear probe ("contrastive")
# against cross-entropy from scratch ("scratch"), tiny preset, two synthetic datasets, the paper's
# optimiser (LARS, constant lr 0.01*N/128) and a tuned lr (three values per method, chosen on X_te),
# three seeds, then the planned batch-size ablation if contrastive loses. `make reproduce` runs it.
#
# Usage: scripts/reproduce.sh [BUILD_DIR] [OUT_DIR]      (defaults: build, reproduce-out)
#
# Resumable: every finished training run has OUT/runs/NAME/DONE, every evaluation
# OUT/eval/NAME-SPLIT/metrics.json; both are skipped when the script runs again. An unfinished run
# that has a checkpoint continues with `cytocon-train --resume` (bit-identical to an uninterrupted
# run, docs/training.md); one without a checkpoint starts again. Interrupt it with Ctrl-C / SIGTERM
# (the current run writes its checkpoint first) and rerun the same command to continue.
# The protocol's numbers below are docs/reproduction.md's; change them there first, never after
# looking at results.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=$(cd "${1:-build}" && pwd)
OUT=${2:-reproduce-out}
BIN="$BUILD/bin"
for p in cytocon-synth cytocon-train cytocon-eval; do
  [ -x "$BIN/$p" ] || { echo "reproduce: $BIN/$p is missing; build first (make build)" >&2; exit 1; }
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}   # see scripts/demo.sh
# glibc keeps freed step buffers instead of returning them to the kernel: at N = 256 this cut the
# system time of a training step by a third (page faults); the results are the same bits.
export MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-17179869184} MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-17179869184}

# ---- protocol (docs/reproduction.md §2) -------------------------------------------------------
N=256                       # global batch
P=256                       # patches per area and epoch
E=5                         # SupCon epochs; probe E/5, scratch 6E/5 (the paper's 150/30/180 ratio)
SEEDS=(1 2 3)
FACTORS=(1 10 100)          # lr = factor * 0.01 * N / 128; factor 1 is the paper's optimiser
ABLATION_N=(64)             # planned ablation: batch size (positives per class), dataset demo
declare -A SYNTH=(
  [demo]="--brains 3 --sections 3 --areas 8 --seed 1 --size 2048x1536"
  [hard]="--brains 6 --sections 2 --areas 12 --seed 1 --size 2048x1536"
)
declare -A TEST_FRACTION=([demo]=0.2 [hard]=0.5)
DATASETS=(demo hard)

start=$(date +%s)
# Every program call's wall and CPU seconds go to OUT/cputime.tsv (what the study cost; GNU time).
timed() {
  local what=$1; shift
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -a -o "$OUT/cputime.tsv" -f "$what\t%e\t%U\t%S\t%x" "$@"
  else
    "$@"
  fi
}
say() { printf '[%s +%ds] %s\n' "$(date -u +%H:%M:%S)" $(($(date +%s) - start)) "$*"; }
lr_of() { awk -v f="$1" -v n="$2" 'BEGIN { printf "%.6g", f * 0.01 * n / 128 }'; }

# ---- 1. data ----------------------------------------------------------------------------------
for d in "${DATASETS[@]}"; do
  if [ ! -f "$OUT/data/$d/DONE" ]; then
    say "synthesising $d: ${SYNTH[$d]}"
    rm -rf "$OUT/data/$d" && mkdir -p "$OUT/data"
    # shellcheck disable=SC2086
    "$BIN/cytocon-synth" --out "$OUT/data/$d" ${SYNTH[$d]} > /dev/null
    touch "$OUT/data/$d/DONE"
  fi
done

# ---- 2. one training run, resumable ----------------------------------------------------------
# train NAME DATASET STAGE EPOCHS BATCH LR SEED [INIT]; exit 3 (loss not finite) marks the run
# DIVERGED, which the table reports and the lr choice skips.
train() {
  local name=$1 d=$2 stage=$3 epochs=$4 n=$5 lr=$6 seed=$7 init=${8:-}
  local dir="$OUT/runs/$name"
  [ -f "$dir/DONE" ] && return 0
  [ -f "$dir/DIVERGED" ] && return 0
  local args=(--config configs/demo.toml --quiet
    --set "data.dir=$OUT/data/$d" --set "data.patches_per_area=$P" --set "data.test_fraction=${TEST_FRACTION[$d]}"
    --set "train.stage=$stage" --set "train.epochs=$epochs" --set "train.batch_size=$n"
    --set train.optimizer=lars --set "train.lr=$lr" --set train.momentum=0.9 --set train.eta=0.001
    --set train.weight_decay=1e-6 --set train.schedule=constant --set train.temperature=0.07
    --set "train.seed=$seed" --set train.device=cpu --set train.checkpoint_every=10
    --set "train.out=$dir")
  [ -n "$init" ] && args+=(--set "train.init=$init")
  local rc=0
  if ls "$dir"/checkpoints/step-*.safetensors > /dev/null 2>&1; then
    say "resume $name"
    timed "$name" "$BIN/cytocon-train" --resume "$dir" --quiet || rc=$?
  else
    say "train  $name ($stage, $epochs epochs, N=$n, lr=$lr, seed $seed)"
    rm -rf "$dir"
    timed "$name" "$BIN/cytocon-train" "${args[@]}" || rc=$?
  fi
  case $rc in
    0) touch "$dir/DONE" ;;
    3) say "$name diverged (loss not finite): recorded as DIVERGED"; touch "$dir/DIVERGED" ;;
    *) say "$name: cytocon-train exited $rc; stopping (rerun to resume)"; exit "$rc" ;;
  esac
}

# evaluate NAME MODEL_RUN: X_te and X_un; a diverged run has no evaluation.
evaluate() {
  local name=$1 dir="$OUT/runs/$2"
  [ -f "$dir/DONE" ] || return 0
  for split in test unseen; do
    local e="$OUT/eval/$name-$split"
    [ -f "$e/metrics.json" ] && continue
    rm -rf "$e"
    timed "eval $name-$split" "$BIN/cytocon-eval" --checkpoint "$dir/final.safetensors" --data "$OUT/data/${name%%-*}" --split "$split" \
      --name "$name" --tsne-iterations 0 --quiet --out "$e" > /dev/null
  done
}

# one comparison point: contrastive (SupCon E + probe E/5) and scratch (CE 6E/5), same N, lr, seed.
# Names: DATASET-METHOD-nN-fFACTOR-sSEED (METHOD: supcon, contrastive = the probe, scratch).
point() {
  local d=$1 n=$2 f=$3 seed=$4 methods=${5:-both}
  local lr tag
  lr=$(lr_of "$f" "$n")
  tag="n$n-f$f-s$seed"
  if [ "$methods" != scratch ]; then
    train "$d-supcon-$tag" "$d" supcon "$E" "$n" "$lr" "$seed"
    if [ -f "$OUT/runs/$d-supcon-$tag/DONE" ]; then
      train "$d-contrastive-$tag" "$d" linear $((E / 5)) "$n" "$lr" "$seed" "$OUT/runs/$d-supcon-$tag/final.safetensors"
    else
      mkdir -p "$OUT/runs/$d-contrastive-$tag" && touch "$OUT/runs/$d-contrastive-$tag/DIVERGED"
    fi
    evaluate "$d-contrastive-$tag" "$d-contrastive-$tag"
  fi
  if [ "$methods" != contrastive ]; then
    train "$d-scratch-$tag" "$d" ce $((6 * E / 5)) "$n" "$lr" "$seed"
    evaluate "$d-scratch-$tag" "$d-scratch-$tag"
  fi
}

# the tuned factor of a method on a dataset: best X_te weighted F1 over FACTORS at seed 1 (ties:
# the smaller factor); diverged runs are never chosen.
best_factor() {
  python3 "$SRC/scripts/reproduce_table.py" --out "$OUT" --best "$1" "$2" "$N" "${FACTORS[@]}"
}

# ---- 3. the study, most informative runs first ------------------------------------------------
say "phase 1: seed 1, every lr factor, both datasets"
for d in "${DATASETS[@]}"; do
  for f in "${FACTORS[@]}"; do point "$d" "$N" "$f" 1; done
done
say "phase 2: seeds 2 and 3 at the paper's lr and at each method's tuned lr"
for d in "${DATASETS[@]}"; do
  fc=$(best_factor "$d" contrastive)
  fs=$(best_factor "$d" scratch)
  echo "$d contrastive $fc" > "$OUT/tuned-$d.txt"
  echo "$d scratch $fs" >> "$OUT/tuned-$d.txt"
  say "$d: tuned factor contrastive $fc, scratch $fs"
  for seed in "${SEEDS[@]:1}"; do
    point "$d" "$N" 1 "$seed"
    [ "$fc" = 1 ] || point "$d" "$N" "$fc" "$seed" contrastive
    [ "$fs" = 1 ] || point "$d" "$N" "$fs" "$seed" scratch
  done
done
python3 "$SRC/scripts/reproduce_table.py" --out "$OUT" --n "$N" --factors "${FACTORS[@]}" > "$OUT/table.md"
say "main table: $OUT/table.md"

say "phase 3: the planned ablation (batch size), if contrastive loses"
if python3 "$SRC/scripts/reproduce_table.py" --out "$OUT" --n "$N" --factors "${FACTORS[@]}" --contrastive-loses; then
  fc=$(best_factor demo contrastive)
  fs=$(best_factor demo scratch)
  for n in "${ABLATION_N[@]}"; do
    for seed in "${SEEDS[@]}"; do
      point demo "$n" "$fc" "$seed" contrastive
      point demo "$n" "$fs" "$seed" scratch
    done
  done
else
  say "contrastive does not lose: no ablation"
fi
python3 "$SRC/scripts/reproduce_table.py" --out "$OUT" --n "$N" --factors "${FACTORS[@]}" --ablation "${ABLATION_N[@]}" > "$OUT/table.md"
say "done: $OUT/table.md"
