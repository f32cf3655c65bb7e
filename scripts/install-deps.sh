#!/usr/bin/env bash
# Installs the Debian packages verifyd builds and tests with, and any packages named as
# arguments (bench/install-deps.sh adds the benchmark's). Safe to run again: it does
# nothing when every package is already installed.
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    libpistache-dev libhiredis-dev libsodium-dev nlohmann-json3-dev
    libphonenumber-dev libprotobuf-dev libcurl4-openssl-dev libjemalloc-dev catch2 redis-server curl
    # the chart tests (tests/chart): helm's template engine rebuilt from Debian's Go libraries
    golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v2-dev
    golang-github-xeipuuv-gojsonschema-dev
    # the fuzz targets (tests/fuzz, scripts/fuzz.sh): clang and its libFuzzer
    clang-14 libfuzzer-14-dev
    # the sandbox page's browser test (tests/sandbox), driven by puppeteer-core from npm
    chromium
)
# and their validators come from npm: Debian's node and npm unless a node with npm is there
command -v npm >/dev/null || packages+=(nodejs npm)
packages+=("$@")

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
