-- keys allowance: on a Redis Cluster, a batch of an API key's requests for the current
-- minute taken from its counter (lib/key_limit.lua) at once, which the replica then
-- spends without a call (service/request_allowances.cpp): the counter's slot is its own
-- there, and a call to it per request would be a second round trip. The batch shrinks
-- as the minute's requests run out, to one when few are left, so that replicas holding
-- unspent requests refuse few others early; they never let more through than the limit.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- ARGV[1]  requests per minute of the API key   ARGV[2]  the most to take
--
-- Replies: {0, taken, minute, ms_left}: `taken` requests (at least one) counted in the
--          minute numbered `minute` (Unix ms ÷ 60000), which ends in `ms_left`
--          {4029, retry_after}  (none left this minute)

local per_minute, most = tonumber(ARGV[1]), tonumber(ARGV[2])
local minute = math.floor(now_ms / 60000)
local ms_left = (minute + 1) * 60000 - now_ms
local left = per_minute - tonumber(redis.call('GET', KEYS[1]) or 0)
if left <= 0 then
    return {4029, math.max(1, math.ceil(ms_left / 1000))}
end
local taken = math.max(1, math.min(most, math.floor(left / 16)))
if redis.call('INCRBY', KEYS[1], taken) == taken then
    redis.call('PEXPIREAT', KEYS[1], (minute + 1) * 60000)
end
return {0, taken, minute, ms_left}
