#!/usr/bin/env bash
# bench/redis-cost.sh: what one verification costs Redis, measured (docs/SCALING.md uses it).
# Starts a private redis-server (scripts/redis.sh) and verifyd on 127.0.0.1 (log level
# info, the `log` provider for live sends, the fraud guard on with its default
# thresholds), then drives, with curl on COST_CONNECTIONS keep-alive connections:
#   1. nothing for COST_IDLE seconds: the background work of an idle verifyd (outbox,
#      timers, gauges), subtracted from every phase below at its measured rate;
#   2. COST_SENDS sandbox sends, then COST_SENDS live sends (each to a number of its own,
#      at most seven numbers per prefix, so that the guard judges and counts each one and
#      pauses none), waiting for the outbox to deliver every live one;
#   3. per verification one check with the right code, and for every fifth one a wrong
#      code first: 1.2 checks a verification, each approved in the end (sandbox, then live).
# Redis records every command (SLOWLOG with a threshold of 0: each command's execution
# time, by function for FCALL, and the commands a function runs inside), INFO
# commandstats, its own CPU time (INFO cpu) and network bytes (INFO stats) per phase;
# the keys' sizes come from MEMORY USAGE. The background of an idle verifyd (its delivery
# threads' and timers' polls) is measured first and taken away at its rate; per command,
# what is left of it under one call in 20 operations is left out as noise.
# Prints (stdout) the tables of docs/SCALING.md: Redis µs and commands per send and per
# check, per function, and bytes per pending verification and per number's history.
# Every wait is bounded (each curl run by COST_TIMEOUT seconds, verifyd's start by 20 s,
# the live deliveries by 60 s), and Redis and verifyd stop on any exit; nothing listens
# beyond 127.0.0.1 and the private unix socket. About 40 s with the defaults.
#
# Usage: bench/redis-cost.sh [VERIFYD_BINARY]    (default build/verifyd; build it with
#        scripts/build.sh or cmake --build build --target verifyd)
# Settings (environment): COST_SENDS (per mode, 100-5000, default 1000; more would
# crowd the guard's prefixes or let sends settle unapproved, and it would refuse them),
# COST_CONNECTIONS (8),
# COST_IDLE (seconds, 5), COST_TIMEOUT (seconds per curl run, 120), COST_KEEP=1 keeps the
# work directory (the raw SLOWLOG, INFO and curl output) and prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
verifyd_bin=${1:-$root/build/verifyd}
sends=${COST_SENDS:-1000}
connections=${COST_CONNECTIONS:-8}
idle_seconds=${COST_IDLE:-5}
curl_timeout=${COST_TIMEOUT:-120}

log() { printf '[redis-cost %s] %s\n' "$(date +%T)" "$*" >&2; }
[ "$sends" -ge 100 ] && [ "$sends" -le 5000 ] || { echo "redis-cost.sh: COST_SENDS must be 100-5000" >&2; exit 2; }
[ -x "$verifyd_bin" ] || { echo "redis-cost.sh: no verifyd at $verifyd_bin (build it first)" >&2; exit 2; }
for tool in redis-server redis-cli curl jq awk; do
    command -v "$tool" >/dev/null || { echo "redis-cost.sh: $tool is missing (scripts/install-deps.sh jq)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/verifyd-redis-cost.XXXXXX)
verifyd_pid=""
cleanup() {
    [ -z "$verifyd_pid" ] || { kill "$verifyd_pid" 2>/dev/null || true; wait "$verifyd_pid" 2>/dev/null || true; }
    ./scripts/redis.sh stop "$work" || true
    if [ "${COST_KEEP:-0}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { ./scripts/free-port.sh; }

# --- Redis and verifyd -----------------------------------------------------------------
# verifyd talks to Redis over TCP; this script over the unix socket, so that its own
# commands (INFO, SLOWLOG, MEMORY USAGE…) are told apart by their client address.
redis_port=$(free_port)
./scripts/redis.sh start "$work" "$redis_port"
rcli() { redis-cli -s "$work/redis.sock" "$@"; }

./scripts/dev-keys.sh hash-key "$verifyd_bin" "$work"
./scripts/dev-keys.sh api-key "$verifyd_bin" acct_cost "$work" >/dev/null
test_key=$(cat "$work/test.key")
live=$("$verifyd_bin" keygen --account acct_cost --mode live)
live_key=$(sed -n 's/^key: //p' <<<"$live")
printf '{"keys": [%s, %s]}\n' "$(jq -c '.keys[0]' "$work/keys.json")" "$(sed -n 's/^entry: //p' <<<"$live")" \
    >"$work/keys.json.new"
mv "$work/keys.json.new" "$work/keys.json"

verifyd_port=$(free_port)
base=http://127.0.0.1:$verifyd_port
# Defaults but for the key's request limit (a counter either way: its cost is the same)
# and the delivery log: the `log` provider writes each live code on stderr, where this
# script reads it back to check it.
env VERIFYD_LISTEN=127.0.0.1:$verifyd_port VERIFYD_REDIS_URL=redis://127.0.0.1:$redis_port/0 \
    VERIFYD_HASH_KEY_FILE="$work/hash.key" VERIFYD_API_KEYS_FILE="$work/keys.json" \
    VERIFYD_THREADS=2 VERIFYD_LOG_LEVEL=info VERIFYD_PROVIDER=log VERIFYD_KEY_RPM=100000000 \
    "$verifyd_bin" 2>"$work/verifyd.log" &
verifyd_pid=$!
deadline=$((SECONDS + 20))
until curl -sf "$base/readyz" >/dev/null; do
    [ $SECONDS -lt $deadline ] && kill -0 "$verifyd_pid" 2>/dev/null || { cat "$work/verifyd.log" >&2; exit 1; }
    sleep 0.1
done
log "redis-server on :$redis_port, verifyd on :$verifyd_port"

# --- measuring -------------------------------------------------------------------------
rcli CONFIG SET slowlog-log-slower-than 0 >/dev/null
rcli CONFIG SET slowlog-max-len 1000000 >/dev/null
# Redis's CPU time (user + system, its getrusage: INFO cpu), in nanoseconds.
redis_cpu_ns() {
    rcli INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {printf "%.0f", s * 1e9}'
}
now_ns() { date +%s%N; }
used_memory() { rcli INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
net_bytes() { rcli INFO stats | tr -d '\r' | awk -F: '/^total_net_input_bytes/ {i = $2} /^total_net_output_bytes/ {o = $2} END {print i, o}'; }

# phase_begin / phase_end NAME: around a phase, the state of Redis's statistics; the
# phase's commands, inner ones too, are then in NAME.slowlog.json (one JSON array each).
phase_begin() {
    rcli SLOWLOG RESET >/dev/null
    rcli CONFIG RESETSTAT >/dev/null
    read -r phase_in0 phase_out0 < <(net_bytes)
    phase_cpu0=$(redis_cpu_ns) phase_t0=$(now_ns)
}
phase_end() {
    local name=$1 cpu1 t1 in1 out1
    cpu1=$(redis_cpu_ns) t1=$(now_ns)
    read -r in1 out1 < <(net_bytes)
    rcli --json SLOWLOG GET -1 >"$work/$name.slowlog.json"
    rcli INFO commandstats >"$work/$name.commandstats"
    rcli SLOWLOG RESET >/dev/null
    echo "$name $(((t1 - phase_t0) / 1000)) $(((cpu1 - phase_cpu0) / 1000)) $((in1 - phase_in0)) $((out1 - phase_out0))" >>"$work/phases"
}

# drive NAME: runs the requests of NAME.<n>.curl (curl config files, one per connection)
# at once and waits; answers go to NAME.<n>.out, one a line.
drive() {
    local name=$1 pids=() file
    for file in "$work/$name".*.curl; do
        timeout "$curl_timeout" curl -sS --config "$file" >"${file%.curl}.out" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
}
# request FILE METHOD PATH KEY [BODY]: appends one request to a curl config file.
request() {
    local body=${5:-}
    {
        [ ! -s "$1" ] || echo next
        printf 'url = "%s%s"\nrequest = "%s"\nheader = "x-api-key: %s"\n' "$base" "$3" "$2" "$4"
        [ -z "$body" ] || printf 'header = "Content-Type: application/json"\ndata-raw = "%s"\n' "${body//\"/\\\"}"
        printf 'write-out = "\\n"\n'
    } >>"$1"
}

# Numbers: sandbox ones in area 415, live ones in 212; the i-th is +1 AAA NXX LLLL with
# NXX = 200 + i mod 800, so that no prefix (the number without its last four digits)
# has more than seven, and the guard's pending cap (20 a prefix) is never reached.
number() { printf '+1%s%03d%04d' "$1" $((200 + $2 % 800)) $((1000 + $2 / 800)); }

make_sends() {  # make_sends NAME AREA KEY
    local i
    rm -f "$work/$1".*.curl
    for ((i = 0; i < sends; i++)); do
        request "$work/$1.$((i % connections)).curl" POST /verify/send "$3" "{\"to\": \"$(number "$2" "$i")\"}"
    done
}
collect_ids() {  # collect_ids NAME: the ids of the verifications created, one a line
    cat "$work/$1".*.out | sed -n 's/.*"id":"\(vrf_[^"]*\)".*/\1/p' >"$work/$1.ids"
    local created
    created=$(wc -l <"$work/$1.ids")
    [ "$created" -eq "$sends" ] || {
        echo "redis-cost.sh: $1: $created of $sends verifications created; an answer:" >&2
        grep -v '"id":"vrf_' "$work/$1".*.out | head -3 >&2
        exit 1
    }
}
make_checks() {  # make_checks NAME KEY CODES_FILE (lines "id code")
    local i=0 id code wrong
    rm -f "$work/$1".*.curl
    while read -r id code; do
        local file="$work/$1.$((i % connections)).curl"
        if [ $((i % 5)) -eq 0 ]; then
            wrong=$(printf '%s%d' "${code%?}" $(((${code: -1} + 1) % 10)))
            request "$file" POST /verify/check "$2" "{\"id\": \"$id\", \"code\": \"$wrong\"}"
        fi
        request "$file" POST /verify/check "$2" "{\"id\": \"$id\", \"code\": \"$code\"}"
        i=$((i + 1))
    done <"$3"
}
count_approved() { cat "$work/$1".*.out | grep -c '"status":"approved"' || true; }

# The keys Redis holds, by kind: kind count bytes (MEMORY USAGE, exact: SAMPLES 0).
key_census() {  # key_census NAME
    rcli --scan >"$work/$1.keys"
    if [ -s "$work/$1.keys" ]; then
        sed 's/^/MEMORY USAGE "/; s/$/" SAMPLES 0/' "$work/$1.keys" | rcli >"$work/$1.sizes"
    else
        : >"$work/$1.sizes"
    fi
    paste -d' ' "$work/$1.keys" "$work/$1.sizes" | awk '
        { key = $1; size = $2
          if (key ~ /^n:/) kind = "n: (number: history + current verification)"
          else if (key ~ /^o:/) kind = "o: (superseded or outliving record)"
          else if (key ~ /^g:.*:t:/) kind = "g:…:t: (guard: a prefix or country)"
          else if (key ~ /^g:/) kind = "g: (guard: other)"
          else if (key ~ /^m:/) kind = "m: (sandbox inbox of the account)"
          else if (key ~ /^k:/) kind = "k: (API key request counter)"
          else if (key ~ /^q:|^fraud:/) kind = "q:, fraud: (shared queues and indexes)"
          else if (key ~ /^c:/) kind = "c: (client limits)"
          else kind = "other (" key ")"
          n[kind]++; b[kind] += size }
        END { for (k in n) printf "%s\t%d\t%d\n", k, n[k], b[k] }' | sort >"$work/$1.census"
}
ttl_range() {  # ttl_range PATTERN: min/avg/max TTL of the matching keys, in seconds
    rcli --scan --pattern "$1" | sed 's/^/TTL "/; s/$/"/' | rcli |
        awk 'NR == 1 {min = max = $1} {s += $1; if ($1 < min) min = $1; if ($1 > max) max = $1}
             END {if (NR) printf "%d / %.0f / %d s", min, s / NR, max; else print "-"}'
}

# 1. idle
load_start=$(cut -d' ' -f1 /proc/loadavg)
key_census start
memory_start=$(used_memory)
phase_begin
sleep "$idle_seconds"
phase_end idle
log "idle: ${idle_seconds}s measured"

# 2. sends
make_sends sandbox-send 415 "$test_key"
phase_begin
drive sandbox-send
phase_end sandbox-send
collect_ids sandbox-send
memory_sandbox=$(used_memory)
key_census sandbox-sent
ttl_sandbox_sent=$(ttl_range 'n:*')
log "sandbox sends: $sends created"

make_sends live-send 212 "$live_key"
phase_begin
drive live-send
collect_ids live-send
deadline=$((SECONDS + 60))
until [ "$(grep -c '"log provider delivery' "$work/verifyd.log" || true)" -ge "$sends" ]; do
    [ $SECONDS -lt $deadline ] || { echo "redis-cost.sh: the outbox did not deliver every live send in 60 s" >&2; exit 1; }
    sleep 0.1
done
sleep 1  # the outbox records its last outcomes after the provider's call
phase_end live-send
memory_live=$(used_memory)
key_census live-sent
log "live sends: $sends created and delivered"

# The codes: a sandbox one read back by GET /verify/{id} (not measured), a live one from
# the log provider's line.
rm -f "$work/sandbox-read".*.curl
i=0
while read -r id; do
    request "$work/sandbox-read.$((i % connections)).curl" GET "/verify/$id" "$test_key"
    i=$((i + 1))
done <"$work/sandbox-send.ids"
drive sandbox-read
cat "$work/sandbox-read".*.out | jq -r 'select(.data) | "\(.data.id) \(.data.template_variables.code)"' >"$work/sandbox.codes"
grep '"log provider delivery' "$work/verifyd.log" | jq -r '"\(.verification_id) \(.variables.code)"' >"$work/live.codes"
for mode in sandbox live; do
    [ "$(grep -c ' [0-9][0-9]*$' "$work/$mode.codes")" -eq "$sends" ] ||
        { echo "redis-cost.sh: could not read every $mode code back ($work/$mode.codes)" >&2; exit 1; }
done

# 3. checks
make_checks sandbox-check "$test_key" "$work/sandbox.codes"
phase_begin
drive sandbox-check
phase_end sandbox-check
approved_sandbox=$(count_approved sandbox-check)
make_checks live-check "$live_key" "$work/live.codes"
phase_begin
drive live-check
sleep 1  # anything the approvals set off in the background (dropped jobs, due index)
phase_end live-check
approved_live=$(count_approved live-check)
log "checks: $approved_sandbox sandbox and $approved_live live verifications approved"
memory_end=$(used_memory)
key_census approved
ttl_approved=$(ttl_range 'n:*')

# --- the tables --------------------------------------------------------------------------
checks=$((sends + (sends + 4) / 5))
# Per phase: the top-level commands verifyd sent (not this script's, on the unix socket)
# and the ones scripts ran inside (client "?"), by name (an FCALL by its function).
summarize() {  # summarize NAME: lines "name calls usec inner_calls inner_usec"
    jq -r '.[] | select(.[4] | startswith("/") | not) |
        [(if .[4] | startswith("?") then "inner" else "top" end),
         ((.[3][0] | ascii_downcase) as $c |
          if $c == "fcall" or $c == "fcall_ro" then (.[3][1] | sub("^verifyd_[0-9a-f]+_"; "")) else $c end),
         .[2]] | @tsv' "$work/$1.slowlog.json" |
        awk -F'\t' '$1 == "top" {c[$2]++; u[$2] += $3; last = $2; next}
                    {ic[last]++; iu[last] += $3}
                    END {for (k in c) printf "%s %d %d %d %d\n", k, c[k], u[k], ic[k], iu[k]}' |
        sort >"$work/$1.summary"
}
for phase in idle sandbox-send live-send sandbox-check live-check; do summarize "$phase"; done
read -r _ idle_us idle_cpu_us idle_in idle_out < <(grep '^idle ' "$work/phases")

# per_op NAME OPS: per operation, background subtracted at the idle rate (per name).
per_op() {
    local name=$1 ops=$2 dur cpu in out
    read -r _ dur cpu in out < <(grep "^$name " "$work/phases")
    awk -v ops="$ops" -v dur="$dur" -v idle="$idle_us" -v cpu="$cpu" -v idle_cpu="$idle_cpu_us" \
        -v name="$name" -v in_b="$in" -v out_b="$out" -v idle_in="$idle_in" -v idle_out="$idle_out" '
        FNR == NR {ic[$1] = $2; iu[$1] = $3; iic[$1] = $4; next}
        { f = dur / idle
          # What remains of a background call once its idle rate is taken away is noise:
          # a name with fewer than one call in 20 operations is left out.
          calls = $2 - f * ic[$1]
          if (calls < 0.05 * ops) next
          us = calls * $3 / $2; inner = calls * $4 / $2
          tc += calls; tu += us; ti += inner
          rows[++n] = sprintf("| %s | %s | %.2f | %.1f | %.1f | %.1f |", name, $1, calls / ops, us / calls, us / ops, inner / ops) }
        END {
          for (i = 1; i <= n; i++) print rows[i]
          printf "TOTAL %s %.2f %.1f %.1f %.1f %.0f %.0f\n", name, tc / ops, tu / ops, ti / ops, (cpu - dur / idle * idle_cpu) / ops,
              (in_b - dur / idle * idle_in) / ops, (out_b - dur / idle * idle_out) / ops }' \
        "$work/idle.summary" "$work/$name.summary"
}
{
    per_op sandbox-send "$sends"
    per_op live-send "$sends"
    per_op sandbox-check "$sends"
    per_op live-check "$sends"
} >"$work/per-op"

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "# Redis cost of a verification"
echo
echo "bench/redis-cost.sh at $(date -u +%FT%RZ) in a checkout of $commit, verifyd $verifyd_bin;"
echo "$(redis-server --version | sed 's/ sha=.*//'); $(nproc) cores, load average $load_start at the start and" \
    "$(cut -d' ' -f1 /proc/loadavg) at the end (other work on the machine inflates every µs figure);"
echo "$sends sends and $checks checks per mode over $connections connections."
echo
echo "Per operation (a verification's checks are ${checks} ÷ ${sends} = $(awk -v c="$checks" -v s="$sends" 'BEGIN{printf "%.1f", c/s}') per send; the figures per check are"
echo "per verification's checks ÷ 1.2). Commands: top-level commands verifyd sent (an FCALL is one);"
echo "inner: the commands its functions ran. Execution µs: Redis's own timing of each command"
echo "(SLOWLOG: wall clock, so other work on the machine inflates it), inner ones included."
echo "Redis CPU µs: redis-server's CPU time (INFO cpu) over the phase, its I/O included, the idle"
echo "background subtracted; at this light load each command is a read and a write of its own."
echo "Bytes in and out: Redis's network traffic (total_net_input_bytes, _output_bytes), background subtracted."
echo
echo "| operation | commands | inner commands | execution µs | Redis CPU µs | bytes in | bytes out |"
echo "|---|---|---|---|---|---|---|"
awk -v r=1.2 '/^TOTAL/ {
    name = $2
    if (name ~ /check/) printf "| %s (per check) | %.2f | %.1f | %.1f | %.1f | %.0f | %.0f |\n", name, $3 / r, $5 / r, $4 / r, $6 / r, $7 / r, $8 / r
    else printf "| %s | %.2f | %.1f | %.1f | %.1f | %.0f | %.0f |\n", name, $3, $5, $4, $6, $7, $8 }' "$work/per-op"
echo
echo "By command or function (per send, or per verification's 1.2 checks):"
echo
echo "| phase | command or function | calls per op | µs per call | µs per op | inner commands per op |"
echo "|---|---|---|---|---|---|"
grep -v '^TOTAL' "$work/per-op"
echo
echo "Idle background over ${idle_seconds} s (per second):"
awk -v s="$idle_us" '{printf "%s %.1f calls/s %.0f µs/s; ", $1, $2 * 1e6 / s, $3 * 1e6 / s} END {print ""}' "$work/idle.summary"
echo
echo "Keys (MEMORY USAGE, bytes):"
echo
echo "| after | kind | keys | bytes | bytes per key |"
echo "|---|---|---|---|---|"
for when in start sandbox-sent live-sent approved; do
    awk -F'\t' -v w="$when" '{printf "| %s | %s | %d | %d | %.0f |\n", w, $1, $2, $3, $2 ? $3 / $2 : 0}' "$work/$when.census"
done
echo
n_bytes() { awk -F'\t' '/^n:/ {print $3}' "$work/$1.census"; }
echo "Redis used_memory: $memory_start at start, $memory_sandbox after the sandbox sends" \
    "(+$(((memory_sandbox - memory_start) / sends)) bytes a send), $memory_live after the live ones" \
    "(+$(((memory_live - memory_sandbox) / sends)) a send), $memory_end once all were approved."
echo "Per pending verification (its number's n: hash, holding it inline): sandbox" \
    "$(($(n_bytes sandbox-sent) / sends)) bytes, live $((($(n_bytes live-sent) - $(n_bytes sandbox-sent)) / sends)) bytes."
echo "Per number's history once approved (n: hash): $(($(n_bytes approved) / (2 * sends))) bytes."
echo "TTL of the n: keys (min / mean / max): pending $ttl_sandbox_sent; approved $ttl_approved."
echo "Approved: $approved_sandbox sandbox, $approved_live live (of $sends each)."
