#!/usr/bin/env bash
# The study's record (docs/reproduction.md §8): what scripts/reproduce.sh has finished, small enough
# to commit, so that a study longer than one working session survives the machine it ran on.
#
#   scripts/reproduce_record.sh save OUT RECORD      copy OUT's finished results into RECORD
#   scripts/reproduce_record.sh restore RECORD OUT   seed a new OUT with them; then rerun
#                                                    scripts/reproduce.sh BUILD OUT to continue
#
# Saved per training run: DONE or DIVERGED, config.toml, log.jsonl; per evaluation: metrics.json;
# the study's cputime.tsv, tuned-*.txt and log.txt; and the final weights of a finished SupCon run
# whose linear probe has not finished yet (the probe starts from them). Unfinished runs are not
# saved: they start again after a restore. Restoring is explicit (never done by reproduce.sh
# itself), so `make reproduce` on a clone always computes everything from nothing.
set -euo pipefail
usage() { echo "usage: $0 save OUT RECORD | restore RECORD OUT" >&2; exit 2; }
[ $# -eq 3 ] || usage
mode=$1 from=$2 to=$3
[ -d "$from" ] || { echo "reproduce_record: $from is not a directory" >&2; exit 1; }
mkdir -p "$to"
from=$(cd "$from" && pwd) to=$(cd "$to" && pwd)

copy() {  # copy FILE relative to $from into $to, keeping its path
  mkdir -p "$to/$(dirname "$1")" && cp -p "$from/$1" "$to/$1"
}

case $mode in
  save)
    cd "$from"
    for run in runs/*/; do
      run=${run%/}
      if [ -f "$run/DONE" ] || [ -f "$run/DIVERGED" ]; then
        for f in DONE DIVERGED config.toml log.jsonl; do [ -f "$run/$f" ] && copy "$run/$f"; done
      fi
      # a finished SupCon encoder whose probe is still to come
      case $run in
        runs/*-supcon-*)
          probe=${run/-supcon-/-contrastive-}
          if [ -f "$run/DONE" ] && [ ! -f "$probe/DONE" ] && [ ! -f "$probe/DIVERGED" ]; then
            copy "$run/final.safetensors"
          fi ;;
      esac
    done
    for m in eval/*/metrics.json; do [ -f "$m" ] && copy "$m"; done
    for f in cputime.tsv log.txt tuned-demo.txt tuned-hard.txt; do [ -f "$f" ] && copy "$f"; done
    # weights no longer needed once their probe has finished
    for w in "$to"/runs/*-supcon-*/final.safetensors; do
      [ -f "$w" ] || continue
      probe=$(dirname "$w"); probe=${probe/-supcon-/-contrastive-}
      { [ -f "$probe/DONE" ] || [ -f "$probe/DIVERGED" ]; } && rm -f "$w"
    done
    echo "reproduce_record: saved $(find "$to" -type f | wc -l) files of $from into $to"
    ;;
  restore)
    cp -rp "$from/." "$to/"
    echo "reproduce_record: restored $from into $to; continue with scripts/reproduce.sh BUILD $to"
    ;;
  *) usage ;;
esac
