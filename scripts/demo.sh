#!/usr/bin/env bash
# The paper's experiment in miniature (`make demo` runs it after deps + build):
#   1. cytocon-synth: a small synthetic dataset, 3 brains (the last one held out as X_un), 8 areas;
#   2. cytocon-train: the tiny preset with SupCon, then the linear probe on its frozen encoder
#      ("contrastive"), and the same network trained from scratch with cross-entropy ("scratch");
#   3. cytocon-eval: both models on X_te and X_un;
#   4. a comparison report (the paper's Fig. 2 table): demo-out/report.md;
#   5. cytocon-map: the contrastive model maps the unseen brain's sections (demo-out/map/*.png,
#      *.geojson for QuPath), with the smoothing penalty chosen on X_te (scripts/choose_penalty.sh).
# Usage: scripts/demo.sh [BUILD_DIR]   (output in $CYTOCON_DEMO_OUT, default demo-out/)
# The sizes below keep the whole demo within 10 minutes on 2 CPU cores; on a GPU (used
# automatically, train.device = auto) the same steps take seconds, and CYTOCON_DEMO_SCALE
# multiplies the epochs there by default.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BIN="$BUILD/bin"
OUT=${CYTOCON_DEMO_OUT:-demo-out}
for p in cytocon-synth cytocon-train cytocon-eval cytocon-map; do
  if [ ! -x "$BIN/$p" ]; then
    echo "demo: $BIN/$p is missing; build first (make build)" >&2
    exit 1
  fi
done

# Epochs of each stage. Both encoders train end to end for the same number of epochs; the
# contrastive model then gets the (much cheaper: forward only) linear probe on top. The paper
# instead gives the baseline as many epochs as SupCon + probe (150 + 30 = 180), which would
# double the demo's time on a CPU. A GPU gets more of everything.
SCALE=${CYTOCON_DEMO_SCALE:-1}
if [ -z "${CYTOCON_DEMO_SCALE:-}" ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  SCALE=8
fi
SUPCON_EPOCHS=$((12 * SCALE))
LINEAR_EPOCHS=$((8 * SCALE))
CE_EPOCHS=$SUPCON_EPOCHS

# The loader's extraction threads run beside the OpenMP compute threads: OpenMP threads that
# spin while they wait would take their cores (docs/performance.md measured 2-4x on a busy machine).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

start=$(date +%s)
stage() { printf '\n== %s (%ds)\n' "$1" $(($(date +%s) - start)); }

rm -rf "$OUT"
mkdir -p "$OUT"
stage "1/5 synthesising a dataset: 3 brains x 3 sections, 8 areas"
"$BIN/cytocon-synth" --out "$OUT/data" --brains 3 --sections 3 --areas 8 --seed 1 --size 2048x1536

TRAIN=("$BIN/cytocon-train" --config configs/demo.toml --set "data.dir=$OUT/data")
stage "2/5 contrastive: SupCon pre-training ($SUPCON_EPOCHS epochs), then the linear probe ($LINEAR_EPOCHS epochs)"
"${TRAIN[@]}" --set train.stage=supcon --set "train.epochs=$SUPCON_EPOCHS" --set "train.out=$OUT/supcon"
"${TRAIN[@]}" --set train.stage=linear --set "train.epochs=$LINEAR_EPOCHS" \
  --set "train.init=$OUT/supcon/final.safetensors" --set "train.out=$OUT/contrastive"
stage "3/5 scratch: cross-entropy end to end ($CE_EPOCHS epochs)"
"${TRAIN[@]}" --set train.stage=ce --set "train.epochs=$CE_EPOCHS" --set "train.out=$OUT/scratch"

stage "4/5 evaluating both models on X_te (test) and X_un (unseen)"
for model in contrastive scratch; do
  for split in test unseen; do
    "$BIN/cytocon-eval" --checkpoint "$OUT/$model/final.safetensors" --data "$OUT/data" --split "$split" \
      --name "$model" --out "$OUT/eval/$model-$split"
  done
done
"$BIN/cytocon-eval" --compare "$OUT/eval/fig2.md" "$OUT"/eval/contrastive-test "$OUT"/eval/contrastive-unseen \
  "$OUT"/eval/scratch-test "$OUT"/eval/scratch-unseen > /dev/null

stage "5/5 mapping the unseen brain (X_un): smoothing penalty chosen on X_te, then every X_un section"
MAP=("$BIN/cytocon-map" --checkpoint "$OUT/contrastive/final.safetensors" --data "$OUT/data" --name contrastive --quiet)
"${MAP[@]}" --split test --sweep 0,0.005,0.01,0.02,0.05,0.1,0.2,0.5,1,2,5 --out "$OUT/map-test"
PENALTY=$(scripts/choose_penalty.sh "$OUT/map-test/penalty_sweep.csv")
"${MAP[@]}" --split unseen --penalty "$PENALTY" --out "$OUT/map"

areas=$(grep -c . "$OUT/data/labels.txt")
device=$(sed -n 's/.*"device":"\([^"]*\)".*/\1/p' "$OUT/scratch/log.jsonl" | head -n 1)
elapsed=$(($(date +%s) - start))
{
  echo "# cytocon demo: contrastive vs. scratch"
  echo
  echo "- data: synthetic ($OUT/data), 3 brains x 3 sections (brain03 = X_un), $areas areas:" \
    "chance top-1 = $(awk -v a="$areas" 'BEGIN { printf "%.1f", 100 / a }')%"
  echo "- network: tiny preset (561 px at 4 um/px), batch 32, configs/demo.toml (SGD, cosine lr)"
  echo "- contrastive: SupCon $SUPCON_EPOCHS epochs, then linear probe $LINEAR_EPOCHS epochs on the frozen encoder"
  echo "- scratch: cross-entropy end to end, $CE_EPOCHS epochs"
  echo "- run: $(hostname), $(nproc) cores, device $device, $(date -u '+%Y-%m-%d %H:%M UTC'), ${elapsed} s for scripts/demo.sh"
  echo
  sed 1,2d "$OUT/eval/fig2.md"
  echo
  echo "Per evaluation: eval/<model>-<split>/report.md (confusion matrix, Ward clusters, t-SNE)."
  echo
  echo "## Maps of the unseen brain (contrastive, Viterbi penalty $PENALTY chosen on X_te)"
  echo
  sed -n '/^| Section/,/^$/p' "$OUT/map/report.md"
  echo "Maps: map/*.png; QuPath: File > Import objects, map/<section>.geojson; details: map/report.md."
  echo "Loss curves: supcon/loss.png, contrastive/loss.png, scratch/loss.png."
} > "$OUT/report.md"

echo
cat "$OUT/report.md"
echo
echo "demo: done in ${elapsed} s. Report: $OUT/report.md"
echo "demo: maps of the unseen brain: $(ls "$OUT"/map/*.png | tr '\n' ' ')"
echo "demo: open them in QuPath with File > Import objects: $OUT/map/*.geojson"
