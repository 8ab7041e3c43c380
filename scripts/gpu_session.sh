#!/usr/bin/env bash
# Everything issue 3 owes a GPU, in phases, on the lent GPU machine (docs/gpu-runs.md):
#   scripts/gpu_session.sh PHASE...      phases: build test sanitize bench layers anchors data
# Logs go to $OUT (the device tool's folder; default ./gpu-out): one <phase>.log per phase, and
# bench.jsonl with every JSON line of cytocon-bench, cytocon-databench and the PyTorch anchors.
# Needs .gpu-kit/ (scripts/gpu_kit.sh, made on the Debian machine and carried). A phase that fails
# is reported and the next one still runs; the exit status is the number of failed phases.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-$root/gpu-out}
mkdir -p "$out"
build=${GPU_BUILD:-build-gpu}
kit=$root/.gpu-kit/root/usr
arch=${GPU_ARCH:-90}
jobs=$(nproc)
# The kit's libraries (libtiff.so.6 and what it links) for our programs only; zlib comes from the system.
export LD_LIBRARY_PATH=$kit/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OMP_WAIT_POLICY=passive
# The figures' font (DejaVu Sans) from the kit, found through a fontconfig file of our own.
export FONTCONFIG_FILE=${TMPDIR:-/tmp}/cytocon-fonts.conf
printf '<?xml version="1.0"?>\n<fontconfig><dir>%s</dir><cachedir>%s</cachedir></fontconfig>\n' \
  "$kit/share/fonts" "${TMPDIR:-/tmp}/cytocon-fontconfig-cache" > "$FONTCONFIG_FILE"
bin=$root/$build/bin
jsonl=$out/bench.jsonl

say() { echo "== $(date -u +%H:%M:%S) $*"; }

phase_build() {
  nvidia-smi -L
  nvcc --version | tail -2
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCYTOCON_CUDA=on -DCYTOCON_CUDA_ARCHITECTURES="$arch" \
    -DCMAKE_PREFIX_PATH="$kit" -DCMAKE_INCLUDE_PATH="$kit/include/x86_64-linux-gnu" &&
    cmake --build "$build" -j "$jobs"
}

phase_test() {
  # The GPU tests first (they are what this machine is for), then the whole suite on this system.
  (cd "$build" && ctest -L gpu --output-on-failure -j 1) || return 1
  (cd "$build" && ctest --output-on-failure -j "$jobs" -LE slow)
}

phase_sanitize() {
  local t failed=0
  for t in "$build"/tests/gpu_test_gpu_ops "$build"/tests/gpu_test_gpu_network "$build"/tests/gpu_test_gpu_*relu*; do
    [[ -x $t ]] || continue
    say "compute-sanitizer memcheck $(basename "$t")"
    compute-sanitizer --tool memcheck --error-exitcode 1 "$t" || failed=1
  done
  say "compute-sanitizer racecheck/synccheck gpu_test_gpu_ops"
  compute-sanitizer --tool racecheck --error-exitcode 1 "$build"/tests/gpu_test_gpu_ops || failed=1
  compute-sanitizer --tool synccheck --error-exitcode 1 "$build"/tests/gpu_test_gpu_ops || failed=1
  compute-sanitizer --tool initcheck --error-exitcode 1 "$build"/tests/gpu_test_gpu_ops || failed=1
  return $failed
}

phase_bench() {
  local mode prec
  for mode in deterministic fast; do
    for prec in fp32 tf32 bf16; do
      say "cytocon-bench paper batch 256 $mode $prec"
      "$bin"/cytocon-bench --device cuda --preset paper --batch 256 --mode "$mode" --precision "$prec" --steps 10 |
        tee -a "$jsonl"
    done
  done
}

phase_layers() {
  local prec
  for prec in tf32 bf16; do
    "$bin"/cytocon-bench --device cuda --preset paper --batch 256 --mode fast --precision "$prec" --layers --steps 5 |
      tee -a "$jsonl"
  done
}

# PyTorch on the same network (python/bench_gpu.py), then on the paper's augmentation
# (python/bench_augment.py: grid_sample on the GPU; one CPU thread for cytocon-databench's per-core rate).
phase_anchors() {
  (unset LD_LIBRARY_PATH; PYTHONUNBUFFERED=1 python3 "$root/python/bench_gpu.py" --compile | sed 's/^{/{"anchor":"bench_gpu",/' | tee -a "$jsonl") || return 1
  (unset LD_LIBRARY_PATH; PYTHONUNBUFFERED=1 python3 "$root/python/bench_augment.py" --device cuda | tee -a "$jsonl") || return 1
  (unset LD_LIBRARY_PATH; PYTHONUNBUFFERED=1 python3 "$root/python/bench_augment.py" --device cpu --batch 8 --steps 4 --warm 1 |
    tee -a "$jsonl")
}

phase_data() {
  local d=$root/$build/gpu-synth
  [[ -x $bin/cytocon-synth ]] || { echo "cytocon-synth was not built (data readers missing)"; return 1; }
  rm -rf "$d"
  "$bin"/cytocon-synth --out "$d" --brains 2 --sections 2 --areas 8 --seed 1 --size 4096x3072 &&
    "$bin"/cytocon-databench --data "$d" --n 64 --threads "$jobs" | tee -a "$jsonl"
}

[[ $# -gt 0 ]] || { sed -n 2,7p "$0"; exit 2; }
failed=0
for p in "$@"; do
  declare -F "phase_$p" >/dev/null || { echo "unknown phase '$p' (build test sanitize bench layers anchors data)"; exit 2; }
  say "phase $p" >>"$out/$p.log"
  start=$SECONDS
  "phase_$p" >>"$out/$p.log" 2>&1
  rc=$?
  say "phase $p: status $rc after $((SECONDS - start)) s" >>"$out/$p.log"
  tail -n 25 "$out/$p.log"
  [[ $rc -eq 0 ]] || failed=$((failed + 1))
done
exit $failed
