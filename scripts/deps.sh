#!/usr/bin/env bash
# Installs the Debian packages cytocon builds with (skips what is present). Root or sudo.
set -euo pipefail
pkgs=(cmake g++ make pkg-config libomp-dev libgtest-dev googletest libtiff-dev libstb-dev
      libcli11-dev libtomlplusplus-dev nlohmann-json3-dev mpich libmpich-dev
      libcairo2-dev fonts-dejavu-core)
# CYTOCON_DEPS_TORCH=1 (CI): also Debian's PyTorch, for the cross-checks in tests/torch (which skip
# without it) and python/ (about 3 minutes to install).
[ "${CYTOCON_DEPS_TORCH:-0}" = 1 ] && pkgs+=(python3-torch)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "cytocon: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
