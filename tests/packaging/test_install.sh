#!/usr/bin/env bash
# cmake --install of this build into a fresh prefix: the programs, configs, Slurm scripts, docs and
# licences are where docs/hpc.md says, the installed programs start, and the Slurm scripts find
# them from PREFIX/share/cytocon.
# Usage: test_install.sh BUILD_DIR
set -euo pipefail
BUILD=$1
P=$(mktemp -d); trap 'rm -rf "$P"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cmake --install "$BUILD" --prefix "$P" > "$P.log" 2>&1 || { cat "$P.log"; fail "cmake --install"; }
rm -f "$P.log"
for f in bin/cytocon-train bin/cytocon-eval bin/cytocon-synth bin/cytocon-bench \
         share/cytocon/configs/paper.toml share/cytocon/configs/demo.toml \
         share/cytocon/scripts/slurm/job.sh share/cytocon/scripts/slurm/supcon.sbatch \
         share/doc/cytocon/README.md share/doc/cytocon/docs/hpc.md share/doc/cytocon/docs/training.md \
         share/doc/cytocon/third_party/README.md share/doc/cytocon/third_party/cli11/LICENSE; do
  [ -e "$P/$f" ] || fail "$f not installed"
done
[ -x "$P/share/cytocon/scripts/slurm/supcon.sbatch" ] || fail "the Slurm scripts lost their execute bit"
if ls "$P"/bin | grep -qv '^cytocon-'; then fail "bin/ holds more than cytocon-*: $(ls "$P/bin")"; fi
if find "$P" -iname '*gtest*' | grep -q .; then fail "GoogleTest was installed"; fi
"$P/bin/cytocon-train" --help > /dev/null || fail "the installed cytocon-train does not start"
bin=$(cd /tmp && env -u BIN CYTOCON_HOME="$P/share/cytocon" bash -c 'source "$CYTOCON_HOME/scripts/slurm/job.sh"; echo "$BIN"')
[ "$bin" = "$P/bin" ] || fail "job.sh found the programs in '$bin', expected $P/bin"
echo "install: $(ls "$P/bin" | wc -l) programs, configs, Slurm scripts, docs and licences in place"
