-- guard: the fraud guard's counts and pauses (§10.3), for lua/guard/*.lua. Part of the
-- function library, after lib/events.lua. Not for: the destination policy (C++) or the
-- client limits (lua/client/limit.lua).
--
-- One account, mode and country share one hash slot g:{tag} (service/redis_keys.cpp),
-- so that a send's decision reads and counts its prefix and its country in one call. A
-- target is a prefix ("+234803123", the number without its last four digits) or the
-- country ("NG"). Its counts are one hash of counters by send time, so that a target
-- costs the same memory whatever its traffic:
--   n<b>, a<b>  sends and approvals of fine bucket b (settle time / 10 wide), while
--               some of its sends may be unsettled: unsettled = n - a
--   S<B>, A<B>  settled and approved sends of coarse bucket B (window / 40 wide), into
--               which a fine bucket rolls once all its sends have settled
--   r           the time the target's history was last forgotten
-- and the slot has:
--   pauses      hash: target → the pause in force, JSON (the fields of GET /fraud/blocks)
--   strikes     hash: target → JSON array of the times its pauses began, last 7 days
--   safe        set: number tags of the safe list
-- A pause in force is also in the pause index (score: when it ends), which the timers
-- read to end pauses on time and GET /fraud/blocks reads to find them.

local GUARD_STRIKE_MS = 7 * 86400 * 1000
local GUARD_LONGEST_PAUSE_MS = 86400 * 1000

-- The call's settings (guard_begin).
local guard = nil

-- `packed`: "window_s settle_s min_sends min_conversion max_pending block_s"; then the
-- pause index and the account, mode and country of the slot, for the index and events.
local function guard_begin(packed, index_key, account, mode, country)
    local v = {}
    for value in string.gmatch(packed, '%S+') do
        v[#v + 1] = tonumber(value)
    end
    guard = {window_ms = v[1] * 1000, settle_ms = v[2] * 1000, min_sends = v[3],
        min_conversion = v[4], max_pending = v[5], block_ms = v[6] * 1000,
        index = index_key, account = account, mode = mode, country = country}
    guard.fine_ms = math.max(1, math.floor(guard.settle_ms / 10))
    guard.coarse_ms = math.max(1000, math.floor(guard.window_ms / 40))
end

local function guard_target(target, key)
    local kind = string.sub(target, 1, 1) == '+' and 'prefix' or 'country'
    return {target = target, kind = kind, key = key}
end

local function fine_of(ms)
    return math.floor(ms / guard.fine_ms)
end

local function coarse_of(ms)
    return math.floor(ms / guard.coarse_ms)
end

local function keep_counts(t)
    redis.call('PEXPIRE', t.key, guard.window_ms + guard.settle_ms + guard.coarse_ms)
end

-- The settled, approved and unsettled sends of `t` within the window, and the fine
-- bucket of its oldest unsettled send. Fine buckets whose sends have all settled roll
-- into their coarse bucket; buckets older than the window are dropped.
local function read_counts(t)
    local fields = redis.call('HGETALL', t.key)
    local oldest_coarse = coarse_of(now_ms - guard.window_ms)
    local counts = {settled = 0, approved = 0, pending = 0, oldest_pending = nil}
    local fine, dropped = {}, {}
    for i = 1, #fields, 2 do
        local kind, n = string.sub(fields[i], 1, 1), tonumber(string.sub(fields[i], 2))
        local value = tonumber(fields[i + 1])
        if kind == 'S' or kind == 'A' then
            if n < oldest_coarse then
                dropped[#dropped + 1] = fields[i]
            elseif kind == 'S' then
                counts.settled = counts.settled + value
            else
                counts.approved = counts.approved + value
            end
        elseif kind == 'n' or kind == 'a' then
            fine[n] = fine[n] or {n = 0, a = 0}
            fine[n][kind] = value
        end
    end
    for b, sends in pairs(fine) do
        if (b + 1) * guard.fine_ms <= now_ms - guard.settle_ms then
            dropped[#dropped + 1] = 'n' .. b
            dropped[#dropped + 1] = 'a' .. b
            local coarse = coarse_of(b * guard.fine_ms)
            if coarse >= oldest_coarse then
                if sends.n ~= 0 then
                    redis.call('HINCRBY', t.key, 'S' .. coarse, sends.n)
                end
                if sends.a ~= 0 then
                    redis.call('HINCRBY', t.key, 'A' .. coarse, sends.a)
                end
                counts.settled = counts.settled + sends.n
                counts.approved = counts.approved + sends.a
            end
        else
            counts.settled = counts.settled + sends.a
            counts.approved = counts.approved + sends.a
            counts.pending = counts.pending + sends.n - sends.a
            if sends.n > sends.a and (not counts.oldest_pending or b < counts.oldest_pending) then
                counts.oldest_pending = b
            end
        end
    end
    if #dropped > 0 then
        redis.call('HDEL', t.key, unpack(dropped))
    end
    return counts
end

-- Forgets the sends of `t`: approvals of sends from before now no longer count either.
local function forget_history(t)
    redis.call('DEL', t.key)
    redis.call('HSET', t.key, 'r', now_ms)
    keep_counts(t)
end

-- A send counted for `t` at `at_ms` (`by` 1), or taken back (`by` -1).
local function count_send(t, at_ms, by)
    redis.call('HINCRBY', t.key, 'n' .. fine_of(at_ms), by)
    keep_counts(t)
end

-- The approval of a send counted at `sent_ms`: converted, whether or not it had settled.
local function count_approval(t, sent_ms)
    local reset = tonumber(redis.call('HGET', t.key, 'r') or 0)
    if sent_ms < reset or sent_ms <= now_ms - guard.window_ms then
        return
    end
    local fine = fine_of(sent_ms)
    if redis.call('HEXISTS', t.key, 'n' .. fine) == 1 then
        redis.call('HINCRBY', t.key, 'a' .. fine, 1)
    else
        redis.call('HINCRBY', t.key, 'A' .. coarse_of(sent_ms), 1)
    end
    keep_counts(t)
end

local function index_member(target)
    return cjson.encode({guard.account, guard.mode, guard.country, target})
end

local function read_pause(pauses_key, t)
    local stored = redis.call('HGET', pauses_key, t.target)
    return stored and cjson.decode(stored)
end

-- fraud.paused or fraud.resumed about `pause` (lib/events.lua).
local function emit_pause_event(event_type, pause)
    if events_stream then
        local body = {account = guard.account, sandbox = guard.mode == 's',
            country = guard.country}
        for name, value in pairs(pause) do
            body[name] = value
        end
        redis.call('XADD', events_stream, '*', 't', event_type, 'r', '', 'at', now_ms,
            'v', cjson.encode(body))
    end
end

-- The pause as reported to the caller: its fields and whether it started or ended.
local function pause_change(change, pause)
    local out = {change = change, country = guard.country}
    for name, value in pairs(pause) do
        out[name] = value
    end
    return cjson.encode(out)
end

-- When a pause for too many unsettled sends ends at the latest: its oldest settles.
local function pending_pause_end(counts)
    return (counts.oldest_pending + 1) * guard.fine_ms + guard.settle_ms
end

-- Pauses `t` (whose counts are `counts`) for `reason`, with a strike unless the reason is
-- too many unsettled sends. Returns the pause.
local function start_pause(pauses_key, strikes_key, t, counts, reason, enforced)
    local pause = {target = t.target, kind = t.kind, reason = reason,
        sends = counts.settled + counts.pending, approved = counts.approved,
        settled = counts.settled, enforced = enforced, paused_at = now_ms}
    local strikes = {}
    for _, began in ipairs(cjson.decode(redis.call('HGET', strikes_key, t.target) or '[]')) do
        if began > now_ms - GUARD_STRIKE_MS then
            strikes[#strikes + 1] = began
        end
    end
    if reason == 'too_many_pending' then
        pause.expires_at = pending_pause_end(counts)
    else
        local duration = math.min(guard.block_ms * 2 ^ #strikes, GUARD_LONGEST_PAUSE_MS)
        pause.expires_at = now_ms + math.floor(duration)
        strikes[#strikes + 1] = now_ms
        redis.call('HSET', strikes_key, t.target, cjson.encode(strikes))
        redis.call('PEXPIRE', strikes_key, GUARD_STRIKE_MS)
        forget_history(t)
    end
    pause.strikes = #strikes
    redis.call('HSET', pauses_key, t.target, cjson.encode(pause))
    redis.call('PEXPIRE', pauses_key, 2 * GUARD_LONGEST_PAUSE_MS)
    redis.call('ZADD', guard.index, pause.expires_at, index_member(t.target))
    emit_pause_event('fraud.paused', pause)
    return pause
end

local function end_pause(pauses_key, t, pause)
    redis.call('HDEL', pauses_key, t.target)
    redis.call('ZREM', guard.index, index_member(t.target))
    emit_pause_event('fraud.resumed', pause)
    return pause_change('ended', pause)
end

-- Whether the pause of `t` is over: its time has come, or, for too many unsettled sends,
-- fewer are unsettled than the cap. One for unsettled sends that goes on gets the time
-- its oldest settles as its end.
local function pause_over(pauses_key, t, pause, counts)
    if pause.reason ~= 'too_many_pending' then
        return now_ms >= pause.expires_at
    end
    if counts.pending < guard.max_pending then
        return true
    end
    local expires_at = pending_pause_end(counts)
    if expires_at ~= pause.expires_at then
        pause.expires_at = expires_at
        redis.call('HSET', pauses_key, t.target, cjson.encode(pause))
        redis.call('ZADD', guard.index, expires_at, index_member(t.target))
    end
    return false
end
