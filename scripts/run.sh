#!/usr/bin/env bash
# Runs verifyd for local development: installs dependencies, builds, and serves on :8080.
# With no VERIFYD_REDIS_URL it starts a private redis-server on a unix socket
# (scripts/redis.sh); with no hash key or keys file it creates them under .dev/
# (scripts/dev-keys.sh; kept across runs) and prints the sandbox test key. Live sends go
# to the `log` provider unless VERIFYD_PROVIDER is set.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh verifyd >&2
verifyd=${BUILD_DIR:-build}/verifyd
state=.dev
mkdir -p "$state"
chmod 700 "$state"

# Idempotent: the EXIT trap runs it again after an INT or TERM trap has.
cleanup() {
    if [ -n "${verifyd_pid:-}" ]; then
        kill "$verifyd_pid" 2>/dev/null || true
        wait "$verifyd_pid" || true
        verifyd_pid=
    fi
    if [ -n "${redis_dir:-}" ]; then
        ./scripts/redis.sh stop "$redis_dir" || true
        rm -rf "$redis_dir"
        redis_dir=
    fi
}
trap cleanup EXIT

if [ -z "${VERIFYD_REDIS_URL:-}" ]; then
    redis_dir=$(mktemp -d)
    ./scripts/redis.sh start "$redis_dir"
    export VERIFYD_REDIS_URL="unix://$redis_dir/redis.sock"
    echo "verifyd: private redis-server at $VERIFYD_REDIS_URL" >&2
fi

if [ -z "${VERIFYD_HASH_KEY:-}" ] && [ -z "${VERIFYD_HASH_KEY_FILE:-}" ]; then
    ./scripts/dev-keys.sh hash-key "$verifyd" "$state"
    export VERIFYD_HASH_KEY_FILE="$state/hash.key"
fi

if [ -z "${VERIFYD_API_KEYS_FILE:-}" ]; then
    ./scripts/dev-keys.sh api-key "$verifyd" acct_dev "$state" >/dev/null
    export VERIFYD_API_KEYS_FILE="$state/keys.json"
    echo "verifyd: sandbox test key (account acct_dev): $(cat "$state/test.key")" >&2
fi

export VERIFYD_PROVIDER=${VERIFYD_PROVIDER:-log}
"$verifyd" &
verifyd_pid=$!
trap cleanup EXIT INT TERM
wait "$verifyd_pid"
