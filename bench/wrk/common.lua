-- bench/wrk/common.lua: what every request script of bench/run.sh shares. Loaded with
-- dofile() by each script, in each of wrk's Lua states (the setup/done one and one per
-- thread). Gives:
--   options      key=value arguments after wrk's "--" (init), e.g. key=sk_test_… keepalive=1
--   headers()    the request headers: JSON, the API key, and "Connection: keep-alive"
--                only when keepalive=1 (wrk itself sends no Connection header); with
--                service=VA… (the Twilio face) a form and HTTP Basic (auth=base64 of
--                "AC…:key") instead of JSON and the key
--   paced        when rate=N (requests per second for this thread) is given, delay()
--                spaces this thread's requests on a fixed schedule: the "half the peak
--                rate" runs (wrk2 is not in Debian). Closed loop: a request is never
--                sent before the previous one on its connection is answered.
--   counters     names of per-thread globals summed over threads in done()
--   phone_number(i)  the i-th of 48 million valid US numbers (FIXED_LINE_OR_MOBILE):
--                +1 AAA 200 0000 … +1 AAA 999 9999 for six area codes AAA
--   thread_numbers()  this thread's numbers, one after the other: base + thread*span …
--                (options base=N span=N), wrapping after span; returns the next-number
--                function
--   done()       prints one machine-readable "result …" line that bench/run.sh parses

options = {}
counters = {}

function parse_options(args)
    for _, arg in ipairs(args or {}) do
        local name, value = arg:match("^([%w_]+)=(.*)$")
        if name then options[name] = value end
    end
end

function headers()
    local h = {["Content-Type"] = "application/json", ["x-api-key"] = options.key}
    if options.service then
        h = {["Content-Type"] = "application/x-www-form-urlencoded",
             ["Authorization"] = "Basic " .. options.auth}
    end
    if options.keepalive == "1" then h["Connection"] = "keep-alive" end
    return h
end

-- Thread numbering: setup() runs in the setup/done state before any thread starts.
local threads = {}
function setup(thread)
    thread:set("thread_id", #threads)
    threads[#threads + 1] = thread
end

local area_codes = {"415", "212", "312", "617", "206", "303"}
function phone_number(i)
    local area = area_codes[math.floor(i / 8000000) % #area_codes + 1]
    return string.format("+1%s%07d", area, 2000000 + i % 8000000)
end

function thread_numbers()
    local span = tonumber(options.span or "100000")
    local first = tonumber(options.base or "0") + thread_id * span
    local last, next_index = first + span - 1, first
    return function()
        local index = next_index
        next_index = next_index < last and next_index + 1 or first
        return phone_number(index)
    end
end

-- Pacing: a monotonic clock through LuaJIT's FFI.
local ffi = require("ffi")
pcall(ffi.cdef, "typedef struct { long tv_sec; long tv_nsec; } bench_timespec;"
    .. "int clock_gettime(int clock_id, bench_timespec* ts);")
local now_ts = ffi.new("bench_timespec")
local function now_ms()
    ffi.C.clock_gettime(1, now_ts)  -- CLOCK_MONOTONIC
    return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local next_slot, interval_ms
local function paced_delay()
    local now = now_ms()
    -- Behind schedule (the server is slower than the rate): start again from now rather
    -- than sending a burst to catch up.
    local slot = (next_slot and next_slot > now) and next_slot or now
    next_slot = slot + interval_ms
    return slot - now
end

-- Called by each script's init() after parse_options().
function start_pacing_if_asked()
    local rate = tonumber(options.rate or "")
    if rate and rate > 0 then
        interval_ms = 1000 / rate
        delay = paced_delay
    end
end

function done(summary, latency, requests)
    local seconds = summary.duration / 1e6
    local errors = summary.errors
    local extra = {}
    for _, name in ipairs(counters) do
        local total = 0
        for _, thread in ipairs(threads) do total = total + (thread:get(name) or 0) end
        extra[#extra + 1] = name .. "=" .. total
    end
    io.write(string.format(
        "result requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d "
            .. "connect_errors=%d read_errors=%d write_errors=%d status_errors=%d timeouts=%d %s\n",
        summary.requests, seconds, summary.requests / seconds,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        errors.connect, errors.read, errors.write, errors.status, errors.timeout,
        table.concat(extra, " ")))
end
