#!/usr/bin/env bash
# Installs the npm packages that DIR's package-lock.json pins into DIR/node_modules, for
# the tests that drive verifyd with a real client: tests/twilio (the official twilio SDK),
# tests/sandbox (puppeteer-core, for the sandbox page in Debian's chromium), tests/openapi
# and tests/chart (their validators). Skipped when node_modules is newer than the lock, so
# that a machine without the registry can run the tests again. A failed install is tried
# twice more, a while later each time: a registry that fails one request now and then
# should not fail the tests.
# Usage: npm-setup.sh DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: npm-setup.sh DIR" >&2; exit 2; }
dir=$(cd "$1" && pwd)
for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "npm-setup.sh: $tool is missing; run scripts/install-deps.sh" >&2; exit 1; }
done
if [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    echo "npm-setup.sh: $dir/node_modules is up to date, npm ci skipped"
    exit 0
fi
for attempt in 1 2 3; do
    (cd "$dir" && npm ci --no-audit --no-fund --prefer-offline) && exit 0
    [ $attempt -eq 3 ] && break
    echo "npm-setup.sh: npm ci in $dir failed (attempt $attempt of 3); trying again in $((attempt * 20)) s" >&2
    sleep $((attempt * 20))
done
exit 1
