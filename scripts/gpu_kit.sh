#!/usr/bin/env bash
# Prepares .gpu-kit/ here (Debian 12) for a run on the lent GPU machine (Ubuntu 24.04, no internet,
# no libtiff/stb/CLI11/toml++/nlohmann-json/cairo): the Debian packages the data readers and the tools
# need, unpacked into .gpu-kit/root. Carry `.gpu-kit` with the run and start it with
# scripts/gpu_session.sh (docs/gpu-runs.md). The PyTorch anchors are in the repository (python/).
#   scripts/gpu_kit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
kit=.gpu-kit
packages=(libtiff-dev libtiff6 libjbig0 libdeflate0 liblerc4 libwebp7 libjpeg62-turbo zlib1g zlib1g-dev
          libstb-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev
          # cairo (the figures) and the libraries libcairo.so.2 links, a font and fontconfig's files
          libcairo2-dev libcairo2 libpixman-1-0 libfontconfig1 libfreetype6 libpng16-16 libxcb-shm0 libxcb1
          libxcb-render0 libxrender1 libx11-6 libx11-data libxext6 libexpat1 libbrotli1 libxau6 libxdmcp6
          libbsd0 libmd0 fonts-dejavu-core fontconfig-config)
rm -rf "$kit"
mkdir -p "$kit/debs" "$kit/root"
(cd "$kit/debs" && apt-get download "${packages[@]}" >/dev/null)
for f in "$kit"/debs/*.deb; do dpkg -x "$f" "$kit/root"; done
rm -rf "$kit/debs" "$kit/root/usr/share/doc" "$kit/root/usr/share/man"
# Debian's absolute links (libz.so -> /lib/...) would point into the other machine's system.
find "$kit/root" -type l -lname '/*' | while read -r link; do
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$kit/root$(readlink "$link")")" "$link"
done
echo "gpu_kit: $(du -sh "$kit" | cut -f1) in $kit (carry it: run(carry=[\".gpu-kit\"]))"
