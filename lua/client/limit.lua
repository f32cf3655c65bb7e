-- client limit: the sends of one end user, by the client_ip and client_id a send carries
-- (§10.2), each with windows of its own. All of an account's and mode's client counts
-- share one slot c:{tag}, so that one call judges both and counts both, or neither.
--
-- KEYS[i]  a client's sends: sorted set, verification suffix → sent ms (a keyed hash of
--          the address or id names it: service/redis_keys.cpp)
-- ARGV[1]  count (judge, and count when allowed), peek (judge only) or release (take
--          the send back: it was not created after all)
-- ARGV[2]  the send's verification suffix
-- ARGV[2+i] the windows of KEYS[i], "COUNT/SECONDS,COUNT/SECONDS"
--
-- Replies: {0}
--          {4045, retry_after, i}  KEYS[i] is over a window; nothing is counted

local operation, suffix = ARGV[1], ARGV[2]

if operation == 'release' then
    for _, key in ipairs(KEYS) do
        redis.call('ZREM', key, suffix)
    end
    return {0}
end

-- The longest window of a spec, and the wait until `key` is under each of its windows.
local function judge(key, spec)
    local longest_ms, wait_ms = 0, 0
    for count, seconds in string.gmatch(spec, '(%d+)/(%d+)') do
        longest_ms = math.max(longest_ms, tonumber(seconds) * 1000)
    end
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now_ms - longest_ms)
    for count, seconds in string.gmatch(spec, '(%d+)/(%d+)') do
        local limit, span_ms = tonumber(count), tonumber(seconds) * 1000
        local in_window = redis.call('ZRANGEBYSCORE', key, now_ms - span_ms + 1, '+inf')
        if #in_window >= limit then
            -- The window has room again once its oldest sends beyond the limit leave it.
            local oldest = redis.call('ZSCORE', key, in_window[#in_window - limit + 1])
            wait_ms = math.max(wait_ms, tonumber(oldest) + span_ms - now_ms)
        end
    end
    return longest_ms, wait_ms
end

local longest = {}
for i, key in ipairs(KEYS) do
    local longest_ms, wait_ms = judge(key, ARGV[2 + i])
    if wait_ms > 0 then
        return {4045, math.max(1, math.ceil(wait_ms / 1000)), i}
    end
    longest[i] = longest_ms
end
if operation == 'count' then
    for i, key in ipairs(KEYS) do
        redis.call('ZADD', key, now_ms, suffix)
        redis.call('PEXPIRE', key, longest[i])
    end
end
return {0}
