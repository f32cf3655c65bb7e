#!/usr/bin/env bash
# Prints a TCP port on 127.0.0.1 that nothing listens on, for the scripts that start
# local servers (bench/). Not a reservation: another process may take it first, so a
# server that cannot listen on it should be started again on another.
set -euo pipefail
while :; do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; exit 0; }
done
