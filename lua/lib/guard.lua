-- guard: the fraud guard's counts and pauses (§10.3), for lua/guard/*.lua. Part of the
-- function library, after lib/events.lua. Not for: the destination policy (C++) or the
-- client limits (lua/client/limit.lua).
--
-- One account, mode and country share one hash slot g:{tag} (service/redis_keys.cpp),
-- so that a send's decision reads and counts its prefix and its country in one call. A
-- target is a prefix ("+234803123", the number without its last four digits) or the
-- country ("NG"); each has two keys:
--   unsettled  sorted set: the sends not yet settled, verification suffix → sent ms
--   history    hash: s<n> settled and a<n> approved sends whose send time is in bucket
--              n (window / 60 wide), and r, the time its history was last forgotten
-- and the slot has:
--   pauses     hash: target → the pause in force, JSON (the fields of GET /fraud/blocks)
--   strikes    hash: target → JSON array of the times its pauses began, last 7 days
--   safe       set: number tags of the safe list
-- A pause in force is also in the pause index (score: when it ends), which the timers
-- read to end pauses on time and GET /fraud/blocks reads to find them.

local GUARD_STRIKE_MS = 7 * 86400 * 1000
local GUARD_LONGEST_PAUSE_MS = 86400 * 1000

-- The call's settings (guard_begin).
local guard = nil

-- `packed`: "window_s settle_s min_sends min_conversion max_pending block_s"; `context`:
-- the account, mode and country of the slot, for the pause index and the events.
local function guard_begin(packed, index_key, account, mode, country)
    local v = {}
    for value in string.gmatch(packed, '%S+') do
        v[#v + 1] = tonumber(value)
    end
    guard = {window_ms = v[1] * 1000, settle_ms = v[2] * 1000, min_sends = v[3],
        min_conversion = v[4], max_pending = v[5], block_ms = v[6] * 1000,
        index = index_key, account = account, mode = mode, country = country}
    guard.bucket_ms = math.max(1000, math.floor(guard.window_ms / 60))
end

local function guard_target(target, unsettled_key, history_key)
    local kind = string.sub(target, 1, 1) == '+' and 'prefix' or 'country'
    return {target = target, kind = kind, unsettled = unsettled_key, history = history_key}
end

local function bucket_of(ms)
    return math.floor(ms / guard.bucket_ms)
end

-- The sends of `t` whose settle time has come, moved to its history as not converted.
local function settle(t)
    local cutoff = now_ms - guard.settle_ms
    local due = redis.call('ZRANGEBYSCORE', t.unsettled, '-inf', cutoff, 'WITHSCORES')
    if #due == 0 then
        return
    end
    for i = 2, #due, 2 do
        local sent = tonumber(due[i])
        if sent > now_ms - guard.window_ms then
            redis.call('HINCRBY', t.history, 's' .. bucket_of(sent), 1)
        end
    end
    redis.call('ZREMRANGEBYSCORE', t.unsettled, '-inf', cutoff)
    redis.call('PEXPIRE', t.history, guard.window_ms + guard.bucket_ms)
end

-- The settled and approved sends of `t` within the window; older buckets are dropped.
local function tally(t)
    local fields = redis.call('HGETALL', t.history)
    local oldest = bucket_of(now_ms - guard.window_ms)
    local settled, approved, stale = 0, 0, {}
    for i = 1, #fields, 2 do
        local kind, n = string.sub(fields[i], 1, 1), tonumber(string.sub(fields[i], 2))
        if kind == 's' or kind == 'a' then
            if n < oldest then
                stale[#stale + 1] = fields[i]
            elseif kind == 's' then
                settled = settled + tonumber(fields[i + 1])
            else
                approved = approved + tonumber(fields[i + 1])
            end
        end
    end
    if #stale > 0 then
        redis.call('HDEL', t.history, unpack(stale))
    end
    return settled, approved
end

-- Forgets the sends of `t`: approvals of sends from before now no longer count either.
local function forget_history(t)
    redis.call('DEL', t.unsettled, t.history)
    redis.call('HSET', t.history, 'r', now_ms)
    redis.call('PEXPIRE', t.history, guard.window_ms + guard.settle_ms)
end

-- A send of `suffix` counted for `t`.
local function count_send(t, suffix)
    redis.call('ZADD', t.unsettled, now_ms, suffix)
    redis.call('PEXPIRE', t.unsettled, guard.window_ms + guard.settle_ms)
end

-- The approval of a send made at `sent`: converted, whether or not it had settled.
local function count_approval(t, suffix, sent)
    local reset = tonumber(redis.call('HGET', t.history, 'r') or 0)
    if sent < reset or sent <= now_ms - guard.window_ms then
        redis.call('ZREM', t.unsettled, suffix)
        return
    end
    local bucket = bucket_of(sent)
    if redis.call('ZREM', t.unsettled, suffix) == 1 then
        redis.call('HINCRBY', t.history, 's' .. bucket, 1)
    end
    redis.call('HINCRBY', t.history, 'a' .. bucket, 1)
    redis.call('PEXPIRE', t.history, guard.window_ms + guard.bucket_ms)
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

-- Pauses `t` for `reason`, counting a strike unless the reason is too many pending sends.
-- Returns the pause.
local function start_pause(pauses_key, strikes_key, t, reason, settled, approved, enforced)
    local pending = redis.call('ZCARD', t.unsettled)
    local pause = {target = t.target, kind = t.kind, reason = reason, sends = settled + pending,
        approved = approved, settled = settled, enforced = enforced, paused_at = now_ms}
    if reason == 'too_many_pending' then
        local oldest = redis.call('ZRANGE', t.unsettled, 0, 0, 'WITHSCORES')
        pause.expires_at = tonumber(oldest[2]) + guard.settle_ms
        local earlier = cjson.decode(redis.call('HGET', strikes_key, t.target) or '[]')
        pause.strikes = #earlier
    else
        local strikes = {}
        for _, began in ipairs(cjson.decode(redis.call('HGET', strikes_key, t.target) or '[]')) do
            if began > now_ms - GUARD_STRIKE_MS then
                strikes[#strikes + 1] = began
            end
        end
        local duration = math.floor(math.min(guard.block_ms * 2 ^ #strikes, GUARD_LONGEST_PAUSE_MS))
        strikes[#strikes + 1] = now_ms
        redis.call('HSET', strikes_key, t.target, cjson.encode(strikes))
        redis.call('PEXPIRE', strikes_key, GUARD_STRIKE_MS)
        pause.strikes = #strikes
        pause.expires_at = now_ms + duration
        forget_history(t)
    end
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

-- Whether the pause of `t` is over: its time has come, or, for too many pending sends,
-- fewer are pending than the cap (settle(t) first). A pending pause that goes on gets
-- the time of its next settle as its end.
local function pause_over(pauses_key, t, pause)
    if pause.reason ~= 'too_many_pending' then
        return now_ms >= pause.expires_at
    end
    if redis.call('ZCARD', t.unsettled) < guard.max_pending then
        return true
    end
    local oldest = redis.call('ZRANGE', t.unsettled, 0, 0, 'WITHSCORES')
    local expires_at = tonumber(oldest[2]) + guard.settle_ms
    if expires_at ~= pause.expires_at then
        pause.expires_at = expires_at
        redis.call('HSET', pauses_key, t.target, cjson.encode(pause))
        redis.call('ZADD', guard.index, expires_at, index_member(t.target))
    end
    return false
end
