#!/usr/bin/env bash
# The Slurm stage scripts without Slurm (stub srun and scontrol on PATH): scripts/slurm/ce.sbatch
# trains a few steps; a second job gets the time-limit signal (USR1, as --signal=B:USR1@300 sends
# it) after its first step, checkpoints and requeues itself; the requeued job resumes and ends with
# the same weights and losses, bit for bit, as the job that was never interrupted.
# Usage: test_slurm.sh SOURCE_DIR BIN_DIR
set -euo pipefail
SRC=$1 BIN=$2
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for s in "$SRC"/scripts/slurm/*.sbatch; do bash -n "$s" || fail "$s does not parse"; done

mkdir "$T/stubs"
# srun: drop its options, run the program in this process (signals reach it directly).
printf '#!/bin/bash\nwhile [[ "$1" == -* ]]; do shift; done\nexec "$@"\n' > "$T/stubs/srun"
printf '#!/bin/sh\necho "$@" >> %s/scontrol.log\n' "$T" > "$T/stubs/scontrol"
chmod +x "$T/stubs/srun" "$T/stubs/scontrol"

"$BIN/cytocon-synth" --out "$T/data" --brains 3 --sections 3 --areas 8 --seed 3 --size 1536x1152 > /dev/null
export PATH="$T/stubs:$PATH" CYTOCON_HOME="$SRC" BIN DATA="$T/data" DEVICE=cpu CONFIG="$SRC/configs/demo.toml"
export SLURM_JOB_ID=4242 OMP_NUM_THREADS=1
export CYTOCON_TRAIN_ARGS="--quiet --set data.patches_per_area=4 --set train.batch_size=8 --set train.max_steps=8"

# 1. A job that runs to the end: no requeue.
OUT="$T/whole" bash "$SRC/scripts/slurm/ce.sbatch" > "$T/whole.out" 2>&1 || fail "uninterrupted job: $(cat "$T/whole.out")"
[ -f "$T/whole/final.safetensors" ] || fail "uninterrupted job wrote no final.safetensors"
[ ! -e "$T/scontrol.log" ] || fail "uninterrupted job requeued itself"

# 2. The time-limit signal after the first logged step: checkpoint, requeue, exit 0.
OUT="$T/cut" bash "$SRC/scripts/slurm/ce.sbatch" > "$T/cut.out" 2>&1 &
job=$!
for _ in $(seq 3000); do  # up to 5 minutes on a loaded machine
  [ -s "$T/cut/log.jsonl" ] && break
  kill -0 $job 2>/dev/null || fail "job ended before its first step: $(cat "$T/cut.out")"
  sleep 0.1
done
kill -USR1 $job
wait $job || fail "signalled job exited $?: $(cat "$T/cut.out")"
grep -qx "requeue 4242" "$T/scontrol.log" || fail "no scontrol requeue: $(cat "$T/cut.out")"
[ ! -e "$T/cut/final.safetensors" ] || fail "the signal came too late: the job had finished"
ls "$T"/cut/checkpoints/step-*.safetensors > /dev/null || fail "no checkpoint after the signal"

# 3. The requeued job resumes and finishes.
SLURM_RESTART_COUNT=1 OUT="$T/cut" bash "$SRC/scripts/slurm/ce.sbatch" >> "$T/cut.out" 2>&1 || fail "requeued job: $(cat "$T/cut.out")"
grep -q "resuming $T/cut" "$T/cut.out" || fail "the requeued job did not resume: $(cat "$T/cut.out")"
[ "$(grep -c . "$T/scontrol.log")" = 1 ] || fail "requeued more than once"

# Same losses, step by step, and the same tensor bytes (the safetensors header names the run).
losses() { grep -o '"loss":[^,}]*' "$1/log.jsonl"; }  # one record per step, in step order
[ "$(losses "$T/whole")" = "$(losses "$T/cut")" ] || fail "losses differ: $(losses "$T/whole") vs $(losses "$T/cut")"
[ "$(losses "$T/whole" | wc -l)" -ge 8 ] || fail "expected 8 logged steps: $(losses "$T/whole")"
tensors() { local n; n=$(od -An -t u8 -N8 "$1" | tr -d ' '); tail -c +$((n + 9)) "$1"; }
cmp <(tensors "$T/whole/final.safetensors") <(tensors "$T/cut/final.safetensors") || fail "final weights differ after the requeue"
echo "slurm: requeue and resume bit-identical ($(grep -c . "$T/whole/log.jsonl") steps)"
