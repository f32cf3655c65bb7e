-- prelude: prepended to every script at build time (cmake/embed_lua.cmake).
--
-- Every script takes KEYS[1] = the calling API key's request counter and
-- ARGV[1] = that key's requests per minute, and refuses with {4029, retry_after}
-- before doing anything else when the key is over its limit. Time is Redis's own
-- clock, so every replica of verifyd agrees on it.
--
-- Replies of every script: {0, ...} on success, or {error_code, retry_after_seconds}
-- where error_code is one of the API's codes (4029, 4040, 4041, 4042, 4043, 4044).

local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

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

-- Verification hash fields: a account, to number, ch channel, fb fallback, loc locale,
-- st status (p pending, a approved, l locked, c canceled, s superseded), len code length,
-- mx max attempts, n wrong attempts, c created ms, e expires ms, sb sandbox 1/0,
-- tn template name, tv template variables JSON, ds delivery status, h code hash.

-- Everything of a verification but its code hash, as a flat field/value list.
local function readable_fields(verification_key)
    local fields = redis.call('HGETALL', verification_key)
    local out = {}
    for i = 1, #fields, 2 do
        if fields[i] ~= 'h' then
            out[#out + 1] = fields[i]
            out[#out + 1] = fields[i + 1]
        end
    end
    return out
end
