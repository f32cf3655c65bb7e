#!/usr/bin/env bash
# The benchmark's own Debian packages (bench/run.sh), installed by scripts/install-deps.sh
# together with what verifyd builds with. Not CI's: CI never runs the benchmark. Safe to
# run again: it does nothing when every package is already installed. BENCH_PROFILE=0
# leaves out the profiler.
set -euo pipefail

packages=(wrk gnuplot-nox redis-server redis-tools)
[ "${BENCH_PROFILE:-1}" = 0 ] || packages+=(linux-perf)

exec "$(dirname "$0")/../scripts/install-deps.sh" "${packages[@]}"
