#!/usr/bin/env bash
# Two builds of cytocon (e.g. the portable default and -DCYTOCON_NATIVE=ON; system and vendored
# headers) give the same bits: cytocon-synth writes the same files, and two SupCon steps of the
# tiny network on that data (the loader, augmentation, every CPU kernel, LARS) end with the same
# losses and weights. Run when CMake is given CYTOCON_COMPARE_BIN (CI does: .ci/run).
# Usage: test_same_bits.sh OTHER_BIN THIS_BIN SOURCE_DIR
set -euo pipefail
A=$1 B=$2 SRC=$3
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
for b in "$A" "$B"; do
  "$b/cytocon-synth" --out "$T/data-$(basename "$(dirname "$b")")" --brains 3 --sections 2 --areas 6 --seed 5 --size 1024x768 > /dev/null
done
da=$T/data-$(basename "$(dirname "$A")") db=$T/data-$(basename "$(dirname "$B")")
[ "$da" != "$db" ] || fail "give two different build directories"
diff -r "$da" "$db" > /dev/null || fail "cytocon-synth wrote different files: $(diff -rq "$da" "$db" | head -3)"
for b in "$A" "$B"; do
  OMP_NUM_THREADS=2 "$b/cytocon-train" --quiet --config "$SRC/configs/demo.toml" --set "data.dir=$db" \
    --set data.patches_per_area=4 --set train.batch_size=8 --set train.max_steps=2 --set train.stage=supcon \
    --set train.device=cpu --set "train.out=$T/run-$(basename "$(dirname "$b")")" > /dev/null
done
ra=$T/run-$(basename "$(dirname "$A")") rb=$T/run-$(basename "$(dirname "$B")")
losses() { grep -o '"loss":[^,]*' "$1/log.jsonl"; }
[ "$(losses "$ra")" = "$(losses "$rb")" ] || fail "losses differ: $(losses "$ra") vs $(losses "$rb")"
tensors() { local n; n=$(od -An -t u8 -N8 "$1" | tr -d ' '); tail -c +$((n + 9)) "$1"; }
cmp <(tensors "$ra/final.safetensors") <(tensors "$rb/final.safetensors") || fail "the weights differ"
echo "same bits: $A and $B (synthetic data, $(losses "$ra" | wc -l) SupCon steps)"
