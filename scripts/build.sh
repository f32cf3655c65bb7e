#!/usr/bin/env bash
# Installs dependencies and builds into build/ (or $BUILD_DIR): the targets given as
# arguments (`./scripts/build.sh verifyd`), or verifyd and all its tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} >/dev/null
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}"
