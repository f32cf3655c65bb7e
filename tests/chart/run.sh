#!/usr/bin/env bash
# Runs the chart tests (cases.mjs) against helm/verifyd without helm: builds render.go
# with Debian's Go libraries (scripts/install-deps.sh installs them) and installs the
# npm validators from package-lock.json into tests/chart/node_modules (tests/npm-setup.sh).
# Usage: run.sh [setup|variants|refusals|properties] [WORK_DIR]   (no group: all of them)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
group=${1:-all}
work=${2:-${TMPDIR:-/tmp}/verifyd-chart-tests}
mkdir -p "$work"
work=$(cd "$work" && pwd)

setup() {
    for tool in go node npm; do
        command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing; run scripts/install-deps.sh" >&2; exit 1; }
    done
    GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE="$work/gocache" \
        go build -o "$work/render" "$here/render.go"
    "$here/../npm-setup.sh" "$here"
}

case "$group" in
    setup) setup ;;
    variants | refusals | properties) node "$here/cases.mjs" "$group" "$work" ;;
    all)
        setup
        status=0
        for g in variants refusals properties; do node "$here/cases.mjs" "$g" "$work" || status=1; done
        exit $status
        ;;
    *) echo "usage: run.sh [setup|variants|refusals|properties] [WORK_DIR]" >&2; exit 2 ;;
esac
