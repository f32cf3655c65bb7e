#!/usr/bin/env bash
# Runs each libFuzzer target of tests/fuzz for FUZZ_SECONDS (default 10) from a copy of
# its seed corpus tests/fuzz/corpus/<target>/, so that the repository's corpus is left as
# it is. The targets are built in the sanitized clang build (scripts/build.sh with
# SANITIZE=1, build-asan/ or $BUILD_DIR), which the sanitized test suite shares.
# Arguments name the targets to run (default: all), as many at once as there are cores. Any crash, leak, timeout, out-of-memory
# or sanitizer report fails the script, after every target has run; the input that caused
# it is kept in <build dir>/findings/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
SANITIZE=1 ./scripts/build.sh fuzz_targets
build_dir=${BUILD_DIR:-build-asan}
seconds=${FUZZ_SECONDS:-10}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for dir in tests/fuzz/corpus/*/; do
        targets+=("$(basename "$dir")")
    done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# fuzz TARGET: one target's run; its verdict is the file $work/TARGET.result.
fuzz() {
    local target=$1 corpus="$work/$1" findings="$build_dir/findings/$1" status=0 runs
    local log="$work/$target.log" dict=()
    rm -rf "$findings"
    mkdir -p "$corpus" "$findings"
    cp -R "tests/fuzz/corpus/$target/." "$corpus/"
    [ -f "tests/fuzz/dict/$target.dict" ] && dict=("-dict=tests/fuzz/dict/$target.dict")
    "$build_dir/tests/fuzz/fuzz_$target" "$corpus" "${dict[@]}" -max_total_time="$seconds" \
        -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
        >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ "$status" -ne 0 ] || grep -q -e "runtime error:" -e "ERROR: \(Address\|Leak\)Sanitizer" "$log"; then
        {
            echo "fuzz: $target FAILED (exit $status); its log:"
            tail -n 80 "$log"
            echo "fuzz: the input is kept in $findings/"
        } >"$work/$target.result"
    else
        echo "fuzz: $target ok: ${runs:-?} runs in ${seconds}s, corpus $(ls "$corpus" | wc -l) inputs" \
            >"$work/$target.result"
    fi
}

# One target per core at a time: each is single-threaded.
running=0
for target in "${targets[@]}"; do
    if [ "$running" -ge "$(nproc)" ]; then
        wait -n
        running=$((running - 1))
    fi
    fuzz "$target" &
    running=$((running + 1))
done
wait
failed=()
for target in "${targets[@]}"; do
    if grep -q "^fuzz: $target ok:" "$work/$target.result" 2>/dev/null; then
        cat "$work/$target.result"
    else
        failed+=("$target")
        cat "$work/$target.result" >&2 2>/dev/null || echo "fuzz: $target gave no verdict" >&2
    fi
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: findings in ${failed[*]}" >&2
    exit 1
fi
