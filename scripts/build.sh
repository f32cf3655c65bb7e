#!/usr/bin/env bash
# Installs dependencies and builds the targets given as arguments (`./scripts/build.sh
# verifyd`), or verifyd and all its tests: into build/ (or $BUILD_DIR), or with
# SANITIZE=1 the sanitized clang build into build-asan/ (or $BUILD_DIR), which
# scripts/sanitize.sh and scripts/fuzz.sh share so that CI compiles it once.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}
build_type=${BUILD_TYPE:-RelWithDebInfo}
options=()
if [ "${SANITIZE:-0}" = 1 ]; then
    # Debug keeps assertions on; VERIFYD_SANITIZE adds -O1.
    build_dir=${BUILD_DIR:-build-asan}
    build_type=${BUILD_TYPE:-Debug}
    export CC=clang-14 CXX=clang++-14
    options+=(-DVERIFYD_SANITIZE=ON)
fi
options+=(-DCMAKE_BUILD_TYPE="$build_type")
cmake -S . -B "$build_dir" "${options[@]}" >/dev/null
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build "$build_dir" -j"$(nproc)" "${targets[@]}"
