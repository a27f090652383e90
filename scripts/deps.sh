#!/usr/bin/env bash
# Installs the Debian packages llmcost builds and tests with.  Idempotent:
# when everything is present it makes no network call at all.
#   scripts/deps.sh          build + test dependencies
#   scripts/deps.sh fuzz     also clang and its sanitizer runtimes
#   scripts/deps.sh bench    also SQLite and node, for bench/run_report.sh
set -euo pipefail

pkgs=(build-essential cmake pkg-config libnng-dev liblmdb-dev libmsgpack-dev
      libcurl4-openssl-dev libjansson-dev libcmocka-dev libmicrohttpd-dev
      zlib1g-dev libdeflate-dev libisal-dev valgrind)
if [ "${1:-}" = "fuzz" ]; then
  pkgs+=(clang libclang-rt-14-dev)
fi
if [ "${1:-}" = "bench" ]; then
  pkgs+=(sqlite3 libsqlite3-dev nodejs)
  # NodeSource's nodejs brings its own npm; Debian's comes apart.
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "llmcost: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "llmcost: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
