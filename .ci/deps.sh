#!/usr/bin/env bash
# Installs the Debian 12 packages netzwacht needs to build and test (only those missing).
# Used by the README's first command and by .ci/run. Needs root (or sudo).
set -euo pipefail
pkgs=(
  build-essential meson ninja-build pkg-config python3      # build
  libpcap-dev libndpi-dev libwolfssl-dev libsqlite3-dev zlib1g-dev check   # libraries
  sqlite3 curl iproute2 procps tcpreplay b3sum              # tests (live capture on lo and a veth pair, DB checks, BLAKE3 reference)
  ca-certificates openssl                                   # the default trust store; reference SPKI hashes and DNs
  clang libclang-rt-14-dev                                  # fuzz targets (libFuzzer, sanitizers)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
