-- key_limit: part of the function library (cmake/embed_lua.cmake), after lib/delivery.lua.
--
-- Every API script (lua/*.lua) takes KEYS[1] = the calling API key's request counter and
-- ARGV[1] = that key's requests per minute, and refuses with {4029, retry_after}
-- before doing anything else when the key is over its limit: its function starts with
-- begin_api_call. On a Redis Cluster the counter is in a slot of its own, so the store
-- takes the request from it apart, in batches (lua/keys/allowance.lua), and passes an
-- empty ARGV[1] (and as KEYS[1] a key of the script's own slot): nothing is counted twice.

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

-- The start of every API function: the clock, then the key's limit. The refusal to
-- return, or nil.
local function begin_api_call(keys, argv)
    begin_call()
    if argv[1] == '' then
        return nil
    end
    local wait = over_key_limit(keys[1], argv[1])
    if wait then
        return {4029, wait}
    end
    return nil
end
