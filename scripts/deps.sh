#!/usr/bin/env bash
# Installs what cytocon builds with (packaging/dependencies.txt) where it can: with apt (Debian,
# Ubuntu) or dnf (RHEL, Rocky; some packages from EPEL) as root or with password-less sudo. Where
# it cannot (no root, another package manager, modules or Spack), it says what is missing and how
# to get it, and exits 0: CMake's configure step then stops with a precise message only if a
# required library is really missing (a module or Spack environment may well provide it), and the
# header-only libraries come from third_party/ anyway (docs/hpc.md).
# Usage: scripts/deps.sh            (make deps / make demo run it)
set -euo pipefail
cd "$(dirname "$0")/.."
TABLE=packaging/dependencies.txt

# The packages of the kinds installed here: tools, system and vendored libraries, GoogleTest and
# MPI (CUDA, cuDNN and NCCL come from NVIDIA's installers or the site's modules).
WANTED='!/^#/ && NF >= 6 && ($2 != "optional" || $1 == "mpi")'
packages() {  # packages <column: 3 debian, 4 rhel>
  awk -v c="$1" "$WANTED"' && $c != "-" { gsub(",", " ", $c); print $c }' "$TABLE"
}

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  manager=apt; column=3
  installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
elif command -v rpm >/dev/null 2>&1 && command -v dnf >/dev/null 2>&1; then
  manager=dnf; column=4
  installed() { rpm -q --whatprovides "$1" >/dev/null 2>&1; }
else
  manager=""
fi

if [ -z "$manager" ]; then
  missing=()
  for t in cmake make c++; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  echo "cytocon: no apt or dnf here, so nothing is installed. ${missing[*]:+Not on PATH: ${missing[*]}. }"
  echo "cytocon: CMake will name any required library it cannot find. The packages, by manager:"
  awk "$WANTED"' { printf "  %-14s Spack: %-14s conda-forge: %s\n", $1, $5, $6 }' "$TABLE"
  echo "cytocon: header-only libraries and GoogleTest need nothing: third_party/ has them. See docs/hpc.md."
  exit 0
fi

# CYTOCON_DEPS_TORCH=1 (CI): also Debian's PyTorch, for the cross-checks in tests/torch (which skip
# without it) and python/ (about 3 minutes to install). apt only.
extra=()
if [ "${CYTOCON_DEPS_TORCH:-0}" = 1 ] && [ "$manager" = apt ]; then extra=(python3-torch); fi
missing=()
for p in $(packages "$column") "${extra[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "cytocon: missing ${manager} packages: ${missing[*]}"
    echo "cytocon: not root, so not installing them. Ask for them, or:"
    if [ "$manager" = apt ]; then echo "  sudo apt-get install ${missing[*]}"; else echo "  sudo dnf install ${missing[*]}"; fi
    echo "  or load a site module / Spack package (spack load ...) that provides them (docs/hpc.md)."
    echo "cytocon: header-only libraries and GoogleTest fall back to third_party/; carrying on."
    exit 0
  fi
fi
echo "cytocon: installing ${missing[*]}"
if [ "$manager" = apt ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  # EPEL packages (stb, CLI11, toml++) may be absent: install what the repositories have.
  $SUDO dnf install -y --skip-broken "${missing[@]}" || echo "cytocon: dnf could not install all of ${missing[*]}; third_party/ covers the header-only ones"
fi
