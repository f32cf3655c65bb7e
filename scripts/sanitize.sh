#!/usr/bin/env bash
# The test suite under AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer:
# builds everything with clang and both sanitizers into build-asan/ (or $BUILD_DIR;
# scripts/build.sh with SANITIZE=1) and runs every ctest test there except the chart and
# docker ones, which check packaging rather than code. Any report fails: the test
# binaries abort on one, and the integration fixture fails a test whose verifyd log
# holds one. Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
SANITIZE=1 ./scripts/build.sh
cd "${BUILD_DIR:-build-asan}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --output-on-failure --timeout 600 -j"${TEST_JOBS:-4}" -E '^(chart|docker):' "$@"
