#!/usr/bin/env bash
# The hostile-input matrix (issue 17): every row of cases.tsv runs one program on one bad input
# and is judged by its exit status, its message and what it left behind.
#
#   tests/hostile/run.sh BIN_DIR CASES.tsv [ID_PATTERN]
#
# cases.tsv: id <TAB> expected exit status <TAB> words <TAB> setup <TAB> command
#   words   '|'-separated; each must occur (case-insensitively) in stdout+stderr; '-' for none
#   setup   shell run first in the case's own empty directory $T (the working directory), '-' for none
#   command shell; its exit status and output are judged
# Variables: $B programs, $D a synthetic dataset, $C a config that trains one CE step on $D,
# $R a finished CE run (copy it before changing it), $S a finished SupCon run, $P a probe batch,
# $T the case's directory. Helpers: st FILE HEADER_JSON DATA_BYTES (a safetensors file),
# le64 N (8 bytes little-endian).
#
# Verdicts: crash (signal, abort, sanitizer report, or no end within the time limit), data lost
# (a file present after the setup changed or vanished although the program failed), silently wrong
# (exit 0 where an error was expected), unclear (another exit status, or a word missing from the
# message), good. Exit status 0 when every case is good. HOSTILE_JOBS cases run at once (default 2),
# each with a time limit of HOSTILE_TIMEOUT seconds (default 60); HOSTILE_VERBOSE=1 lists the good ones too.
set -u
B=$(cd "$1" && pwd)
CASES=$2
PATTERN=${3:-}
LIMIT=${HOSTILE_TIMEOUT:-60}
W=$(mktemp -d "${TMPDIR:-/tmp}/cytocon-hostile.XXXXXX")
trap 'rm -rf "$W"' EXIT
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive CYTOCON_DIST=single

le64() {  # 8-byte little-endian unsigned integer
  local n=$1 i out=""
  for i in 0 1 2 3 4 5 6 7; do out+=$(printf '\\x%02x' $(( (n >> (8 * i)) & 255 ))); done
  printf "$out"
}
st() {  # st FILE HEADER DATA_BYTES: a safetensors file with zero data
  { le64 ${#2}; printf '%s' "$2"; head -c "$3" /dev/zero; } > "$1"
}
export -f le64 st

# ---- fixtures, shared by every case (read-only for them) -----------------------------------
D=$W/data S=$W/sup R=$W/ce C=$W/ce.toml P=$W/batch.safetensors
fixture() { "$@" > "$W/fixture.log" 2>&1 || { echo "hostile: fixture failed: $*"; cat "$W/fixture.log"; exit 2; }; }
fixture "$B/cytocon-synth" --out "$D" --brains 2 --sections 3 --areas 3 --seed 7 --um-per-px 8 --size 640x512 --unseen 1
cat > "$C" <<TOML
[model]
preset = "tiny"
[data]
dir = "$D"
um_per_px = 8.0
patches_per_area = 4
threads = 1
augment = false
[train]
stage = "ce"
epochs = 1
max_steps = 1
batch_size = 4
optimizer = "sgd"
lr = 0.01
device = "cpu"
checkpoint_every = 0
TOML
fixture "$B/cytocon-train" --config "$C" --set train.out="$R" --quiet
fixture "$B/cytocon-train" --config "$C" --set train.stage=supcon --set train.out="$S" --quiet
st "$P" '{"x":{"dtype":"F32","shape":[2,1,561,561],"data_offsets":[0,2517768]},"y":{"dtype":"I32","shape":[2],"data_offsets":[2517768,2517776]}}' 2517776
export B D S R C P

# ---- the cases: $HOSTILE_JOBS at a time (default 2), each judged into $W/verdicts ------------
fingerprint() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r md5sum); }
run_case() {
  local n=$1 id=$2 want=$3 words=$4 setup=$5 cmd=$6
  local T=$W/cases/$id log=$W/logs/$id
  mkdir -p "$T"
  if [[ "$setup" != "-" ]] && ! (export T; cd "$T" && bash -c "$setup") > "$log.setup" 2>&1; then
    { echo "setup: $id: $setup"; cat "$log.setup"; } > "$W/verdicts/$n"
    return
  fi
  local before after lost="" missing="" out rc v first start=$SECONDS
  before=$(fingerprint "$T")
  (export T; cd "$T" && timeout -s KILL "$LIMIT" bash -c "$cmd") > "$log" 2>&1 < /dev/null
  rc=$?
  out=$(cat "$log")
  after=$(fingerprint "$T")
  if [[ "$want" != 0 ]]; then
    lost=$(comm -23 <(sort <<< "$before") <(sort <<< "$after") | awk 'NF {print $2}' | head -3 | tr '\n' ' ')
  fi
  if [[ "$words" != "-" ]]; then
    local ws w
    IFS='|' read -ra ws <<< "$words"
    for w in "${ws[@]}"; do grep -qiF -- "$w" <<< "$out" || missing+="'$w' "; done
  fi
  if (( rc >= 124 && rc != want )) || grep -qE "AddressSanitizer|runtime error:|LeakSanitizer|terminate called" <<< "$out"; then
    v=crash
  elif [[ -n "$lost" ]]; then
    v="data lost"
  elif [[ "$want" != 0 && $rc == 0 ]]; then
    v="silently wrong"
  elif [[ $rc != "$want" || -n "$missing" ]]; then
    v=unclear
  else
    v=good
  fi
  first=$(grep -m1 -iE "error|warning|usage|not|must|expected|refus" <<< "$out" || head -1 <<< "$out")
  echo "$v: $id (exit $rc, expected $want, $((SECONDS - start)) s)${missing:+ lacks $missing}${lost:+ changed: $lost}: ${first:0:300}" \
    > "$W/verdicts/$n"
  rm -rf "$T"
}
mkdir -p "$W/verdicts" "$W/logs" "$W/cases"
n=0
while IFS=$'\t' read -r id want words setup cmd; do
  [[ -z "$id" || "$id" == \#* ]] && continue
  [[ -n "$PATTERN" && ! "$id" =~ $PATTERN ]] && continue
  n=$((n + 1))
  while (( $(jobs -rp | wc -l) >= ${HOSTILE_JOBS:-2} )); do wait -n; done
  run_case "$(printf %04d $n)" "$id" "$want" "$words" "$setup" "$cmd" &
done < "$CASES"
wait

declare -A count
total=0
for f in "$W"/verdicts/*; do
  [[ -e "$f" ]] || continue
  line=$(head -1 "$f")
  v=${line%%: *}
  count[$v]=$(( ${count[$v]:-0} + 1 ))
  [[ $v == setup ]] && { cat "$f"; continue; }
  total=$((total + 1))
  [[ $v != good || -n "${HOSTILE_VERBOSE:-}" ]] && echo "$line"
done
summary="hostile: $total cases:"
for v in good crash "data lost" "silently wrong" unclear setup; do summary+=" $v ${count[$v]:-0},"; done
echo "${summary%,}"
[[ ${count[good]:-0} == "$total" && -z "${count[setup]:-}" ]]
