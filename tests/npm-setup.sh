#!/usr/bin/env bash
# Installs the npm packages that DIR's package-lock.json pins into DIR/node_modules, for
# the tests that drive verifyd with a real client: tests/twilio (the official twilio SDK)
# and tests/sandbox (puppeteer-core, for the sandbox page in Debian's chromium). Skipped
# when node_modules is newer than the lock, so that a machine without the registry can
# run the tests again.
# Usage: npm-setup.sh DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: npm-setup.sh DIR" >&2; exit 2; }
dir=$(cd "$1" && pwd)
for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "npm-setup.sh: $tool is missing; run scripts/install-deps.sh" >&2; exit 1; }
done
if [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    echo "npm-setup.sh: $dir/node_modules is up to date, npm ci skipped"
else
    (cd "$dir" && npm ci --no-audit --no-fund --prefer-offline)
fi
