-- lookup: the message a provider's receipt is about, by the provider's message id
-- (delivery/map.lua wrote it). A receipt whose id is not known yet is parked, so that
-- map.lua hands it over when the provider's answer is recorded: nothing is lost to the
-- race between a provider's answer and its first receipt. Only the last few receipts of
-- one id are kept, for a few minutes.
--
-- KEYS[1]  p:{<provider message id>}
-- KEYS[2]  pr:{<provider message id>}
-- ARGV[1]  the receipt, "<status> <error code>"
-- ARGV[2]  milliseconds a parked receipt is kept
--
-- Replies: {job, channel}, or {} when parked

local mapped = redis.call('GET', KEYS[1])
if mapped then
    local job, channel = string.match(mapped, '^(%S+) (%S+)$')
    return {job, channel}
end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -8, -1)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]))
return {}
