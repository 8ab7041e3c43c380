#!/usr/bin/env bash
# Checks the packaging against packaging/dependencies.txt, the list CMake's error messages are made
# from: every library cmake/deps.cmake requires is in the list; the Spack recipe depends on the
# Spack package of every tool, system and optional dependency and on nothing else (the header-only
# ones come from third_party/); the conda environment lists the conda-forge package of every
# dependency but CUDA's. Prints the differences and exits 1 when there are any.
set -euo pipefail
cd "$(dirname "$0")/.."
TABLE=packaging/dependencies.txt
RECIPE=packaging/spack/packages/cytocon/package.py
ENV_YML=packaging/conda/environment.yml
status=0
differ() {  # differ <what> <expected> <found>
  local missing extra
  missing=$(comm -23 <(sort -u <<< "$2") <(sort -u <<< "$3"))
  extra=$(comm -13 <(sort -u <<< "$2") <(sort -u <<< "$3"))
  if [ -n "$missing$extra" ]; then
    echo "$1: missing: ${missing//$'\n'/ }${extra:+; not in $TABLE: ${extra//$'\n'/ }}"
    status=1
  fi
}
table() { awk -v c="$1" -v kinds="$2" '!/^#/ && NF >= 6 && $2 ~ kinds && $c != "-" { print $c }' "$TABLE"; }

# CMake: the names cmake/deps.cmake passes to cytocon_require / cytocon_header_library.
cmake_names=$(grep -oE 'cytocon_(require|header_library)\([a-z0-9+-]+' cmake/deps.cmake | sed 's/.*(//' | sort -u)
unknown=$(comm -23 <(echo "$cmake_names") <(table 1 . | sort -u))
if [ -n "$unknown" ]; then echo "cmake/deps.cmake requires what $TABLE does not list: ${unknown//$'\n'/ }"; status=1; fi

spack_found=$(grep -oE 'depends_on\("[a-z0-9-]+' "$RECIPE" | sed 's/.*"//')
differ "$RECIPE" "$(table 5 '^(tool|system|optional)$')" "$spack_found"

conda_found=$(awk '/^dependencies:/ { d = 1; next } /^[a-z]/ { d = 0 } d && $1 == "-" { sub(/[<>=].*/, "", $2); print $2 }' "$ENV_YML")
conda_wanted=$(awk '!/^#/ && NF >= 6 && ($2 != "optional" || $1 == "mpi") && $6 != "-" { print $6 }' "$TABLE")
differ "$ENV_YML" "$conda_wanted" "$conda_found"

[ "$status" = 0 ] && echo "packaging: the Spack recipe, the conda environment and CMake agree with $TABLE"
exit "$status"
