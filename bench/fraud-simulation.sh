#!/usr/bin/env bash
# bench/fraud-simulation.sh: builds and runs the fraud guard simulation
# (tests/simulation/fraud_simulation.cpp), SMS pumping against the real verifyd and a
# private redis-server on 127.0.0.1 with the guard's time compressed, so that anyone can
# see how the guard does with other settings. Prints a Markdown table; takes about two
# minutes with the defaults. Not a benchmark of speed: that is bench/run.sh.
#
# Arguments go to the program, e.g. `bench/fraud-simulation.sh --settle 3 --min-sends 20
# --check`; `--help` lists them. BUILD_DIR: the build directory (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
BUILD_DIR=$build_dir ./scripts/build.sh fraud_simulation verifyd
exec "$build_dir/tests/fraud_simulation" "$@"
