#!/usr/bin/env bash
# The test suite under AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer:
# builds everything into build-asan/ (or $ASAN_BUILD_DIR) in Debug with both sanitizers
# and runs every ctest test there except the chart and docker ones, which check packaging
# rather than code. Any report fails: the test binaries abort on one, and the integration
# fixture fails a test whose verifyd log holds one. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
build_dir=${ASAN_BUILD_DIR:-build-asan}
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
cd "$build_dir"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --output-on-failure --timeout 600 -E '^(chart|docker):' "$@"
