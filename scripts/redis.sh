#!/usr/bin/env bash
# A private redis-server for scripts/run.sh and bench/run.sh (the tests start theirs from
# tests/support/redis_server.cpp, which needs to kill, pause and restart it):
#   scripts/redis.sh start DIR [PORT [REDIS-SERVER-OPTION…]]
#   scripts/redis.sh stop DIR
# start runs redis-server in the background without persistence, working in DIR: on the
# unix socket DIR/redis.sock (its owner only) and, when PORT is given and not 0, on
# 127.0.0.1:PORT. Its pid is in DIR/redis.pid (while it runs) and its output in
# DIR/redis.log. It returns once Redis answers PING, or fails with the log after 10 s.
# stop ends it with SIGTERM (SIGKILL after 5 s) and returns once it has; a DIR without a
# running Redis is no error.
set -euo pipefail
usage() {
    echo "usage: scripts/redis.sh start DIR [PORT [REDIS-SERVER-OPTION…]] | stop DIR" >&2
    exit 2
}
[ $# -ge 2 ] || usage
command=$1 dir=$2
shift 2

case $command in
start)
    port=${1:-0}
    shift $(($# > 0 ? 1 : 0))
    redis-server --port "$port" --bind 127.0.0.1 \
        --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
        --save "" --appendonly no --dir "$dir" --daemonize no --pidfile "$dir/redis.pid" "$@" \
        </dev/null >"$dir/redis.log" 2>&1 &
    pid=$!
    deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ] && kill -0 "$pid" 2>/dev/null; do
        [ "$(redis-cli -s "$dir/redis.sock" PING 2>/dev/null)" = PONG ] && exit 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    echo "redis-server did not start; its log ($dir/redis.log):" >&2
    cat "$dir/redis.log" >&2
    exit 1
    ;;
stop)
    [ -s "$dir/redis.pid" ] || exit 0
    pid=$(cat "$dir/redis.pid")
    kill "$pid" 2>/dev/null || exit 0
    # Redis removes its pid file as it exits: a zombie nobody reaps counts as ended.
    deadline=$((SECONDS + 5))
    while [ $SECONDS -lt $deadline ] && [ -e "$dir/redis.pid" ] && kill -0 "$pid" 2>/dev/null; do
        sleep 0.05
    done
    [ ! -e "$dir/redis.pid" ] || kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/redis.pid"
    ;;
*)
    usage
    ;;
esac
