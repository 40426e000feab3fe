#!/usr/bin/env bash
# Installs the system libraries emocfg builds against, when they are missing (Debian/Ubuntu).
#   scripts/install-deps.sh            libraries for building and testing
#   scripts/install-deps.sh --bench    also the ffmpeg tool (ffprobe is the probe benchmark's baseline)
# Swift itself is expected to be installed already.
set -euo pipefail

packages=(libsqlite3-dev libavformat-dev libavcodec-dev libswscale-dev libswresample-dev libavutil-dev libzstd-dev pkg-config libdlib-dev libblas-dev liblapack-dev)
[ "${1:-}" = "--bench" ] && packages+=(ffmpeg)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
