#!/usr/bin/env bash
# scripts/deps.sh without root, without apt and as root, with stub package tools on a bare PATH:
# it installs only as root, never fails for want of root, and names what is missing.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A bare PATH: the few tools deps.sh itself uses, plus the stubs of each case.
bare() {
  local d=$T/$1; mkdir -p "$d"
  for t in bash awk grep dirname id; do ln -sf "$(command -v $t)" "$d/$t"; done
  echo "$d"
}
stub() {  # stub <dir> <name> <body>
  printf '#!/bin/sh\n%s\n' "$3" > "$1/$2"; chmod +x "$1/$2"
}
run() { PATH=$1 bash "$SRC/scripts/deps.sh" > "$T/out" 2>&1; }

# 1. No apt, no dnf (a cluster with modules): exit 0, the Spack and conda-forge names listed.
d=$(bare none)
run "$d" || fail "no package manager: exit $?"
grep -q "no apt or dnf here" "$T/out" || fail "no package manager: $(cat "$T/out")"
grep -q "cmake make c++" "$T/out" || fail "missing tools not named: $(cat "$T/out")"
grep -q "libtiff .*Spack: libtiff .*conda-forge: libtiff" "$T/out" || fail "libtiff's packages not listed"
grep -q "third_party/" "$T/out" || fail "third_party/ not mentioned"

# 2. apt, not root, no sudo: nothing installed, the missing packages and the command named.
d=$(bare user)
stub "$d" id 'echo 1000'
stub "$d" dpkg-query '[ "$3" = libtiff-dev ] && exit 1; echo "install ok installed"'
stub "$d" apt-get "touch $T/apt-called; exit 1"
run "$d" || fail "not root: exit $?"
[ ! -e "$T/apt-called" ] || fail "not root: apt-get was called"
grep -q "sudo apt-get install libtiff-dev$" "$T/out" || fail "not root: $(cat "$T/out")"

# 3. apt as root: exactly the missing package is installed.
d=$(bare root)
stub "$d" id 'echo 0'
stub "$d" dpkg-query '[ "$3" = libtiff-dev ] && exit 1; echo "install ok installed"'
stub "$d" apt-get "echo \"\$@\" >> $T/apt-args"
run "$d" || fail "root: exit $?"
grep -q "install -y -qq --no-install-recommends libtiff-dev$" "$T/apt-args" || fail "root: apt-get $(cat "$T/apt-args" 2>/dev/null)"

# 4. Nothing missing: silent.
d=$(bare done)
stub "$d" dpkg-query 'echo "install ok installed"'
stub "$d" apt-get "touch $T/apt-called2; exit 1"
run "$d" || fail "complete: exit $?"
[ ! -s "$T/out" ] && [ ! -e "$T/apt-called2" ] || fail "complete: $(cat "$T/out")"
echo "deps.sh: 4 cases passed"
