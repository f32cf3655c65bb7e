#!/usr/bin/env bash
# The benchmark's own Debian packages (bench/run.sh), on top of what verifyd builds with
# (scripts/install-deps.sh). Not CI's: CI never runs the benchmark. Safe to run again:
# it does nothing when every package is already installed. BENCH_PROFILE=0 leaves out
# the profiler.
set -euo pipefail

packages=(wrk gnuplot-nox redis-server redis-tools)
[ "${BENCH_PROFILE:-1}" = 0 ] || packages+=(linux-perf)

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
