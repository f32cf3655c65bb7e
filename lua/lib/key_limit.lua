-- key_limit: prepended at build time to every API script (lua/*.lua), after common.
--
-- Every API script takes KEYS[1] = the calling API key's request counter and
-- ARGV[1] = that key's requests per minute, and refuses with {4029, retry_after}
-- before doing anything else when the key is over its limit.

-- A fixed window per wall-clock minute: the counter expires at the minute's end.
local function over_key_limit(counter_key, per_minute)
    local count = redis.call('INCR', counter_key)
    if count == 1 then
        local minute_end_ms = (math.floor(now_ms / 60000) + 1) * 60000
        redis.call('PEXPIREAT', counter_key, minute_end_ms)
    end
    if count > tonumber(per_minute) then
        local ttl_ms = redis.call('PTTL', counter_key)
        return math.max(1, math.ceil(ttl_ms / 1000))
    end
    return nil
end

do
    local wait = over_key_limit(KEYS[1], ARGV[1])
    if wait then
        return {4029, wait}
    end
end
