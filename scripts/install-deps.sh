#!/usr/bin/env bash
# Installs the Debian packages verifyd builds and tests with. Safe to run again:
# it does nothing when every package is already installed.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    libpistache-dev libhiredis-dev libsodium-dev nlohmann-json3-dev
    libphonenumber-dev libcurl4-openssl-dev catch2 redis-server curl
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
