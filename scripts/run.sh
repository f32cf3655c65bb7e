#!/usr/bin/env bash
# Runs verifyd for local development: installs dependencies, builds, and serves on :8080.
# With no VERIFYD_REDIS_URL it starts a private redis-server on a unix socket; with no
# hash key or keys file it creates them under .dev/ (kept across runs) and prints the
# sandbox test key. Live sends go to the `log` provider unless VERIFYD_PROVIDER is set.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh verifyd >&2
verifyd=${BUILD_DIR:-build}/verifyd
state=.dev
mkdir -p "$state"
chmod 700 "$state"

if [ -z "${VERIFYD_REDIS_URL:-}" ]; then
    redis_dir=$(mktemp -d)
    redis-server --port 0 --unixsocket "$redis_dir/redis.sock" --unixsocketperm 700 \
        --save "" --appendonly no --dir "$redis_dir" --daemonize no >"$redis_dir/redis.log" 2>&1 &
    redis_pid=$!
    trap 'kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; rm -rf "$redis_dir"' EXIT
    for _ in $(seq 100); do
        [ -S "$redis_dir/redis.sock" ] && break
        sleep 0.05
    done
    export VERIFYD_REDIS_URL="unix://$redis_dir/redis.sock"
    echo "verifyd: private redis-server at $VERIFYD_REDIS_URL" >&2
fi

if [ -z "${VERIFYD_HASH_KEY:-}" ] && [ -z "${VERIFYD_HASH_KEY_FILE:-}" ]; then
    [ -s "$state/hash.key" ] || (umask 077 && "$verifyd" keygen --hash-key >"$state/hash.key")
    export VERIFYD_HASH_KEY_FILE="$state/hash.key"
fi

if [ -z "${VERIFYD_API_KEYS_FILE:-}" ]; then
    [ -s "$state/keys.json" ] || ./scripts/dev-keys.sh "$verifyd" acct_dev "$state" >/dev/null
    export VERIFYD_API_KEYS_FILE="$state/keys.json"
    echo "verifyd: sandbox test key (account acct_dev): $(cat "$state/test.key")" >&2
fi

export VERIFYD_PROVIDER=${VERIFYD_PROVIDER:-log}
"$verifyd" &
verifyd_pid=$!
trap 'kill "$verifyd_pid" 2>/dev/null; wait "$verifyd_pid"; kill "${redis_pid:-}" 2>/dev/null; rm -rf "${redis_dir:-}"' EXIT INT TERM
wait "$verifyd_pid"
