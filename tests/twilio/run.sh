#!/usr/bin/env bash
# Installs the official twilio npm SDK at the version package-lock.json pins into
# tests/twilio/node_modules (skipped when it is already there, so that a machine without
# the registry can run the test again). The test itself is
# tests/integration/twilio_sdk_test.cpp, which runs sdk_test.js against a real verifyd.
# Usage: run.sh setup
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "${1:-}" = setup ] || { echo "usage: run.sh setup" >&2; exit 2; }
for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing; run scripts/install-deps.sh" >&2; exit 1; }
done
if [ "$here/node_modules/.package-lock.json" -nt "$here/package-lock.json" ]; then
    echo "run.sh: node_modules is up to date, npm ci skipped"
else
    (cd "$here" && npm ci --no-audit --no-fund --prefer-offline)
fi
