-- check: compares a code's hash with the stored one and moves the verification on:
-- approved (spent), one more wrong attempt, or locked on the last one. One call per
-- attempt, so concurrent checks are counted exactly.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- KEYS[2]  the number's hash n:{tag} (lib/common.lua)
-- KEYS[3]  the verification's own record o:{tag}<suffix>, used once superseded
-- ARGV[1]  requests per minute of the API key (lib/key_limit.lua)
-- ARGV[2]  the caller's account
-- ARGV[3]  keyed hash of the presented code (16 raw bytes)
-- ARGV[4]  the verification's suffix
--
-- Replies: {0, status, attempts_remaining, to} with status approved, pending or locked
--          {4040}  unknown, another account's, approved, canceled or superseded
--          {4042}  locked by earlier wrong codes
--          {4041}  expired (answered for the grace period, then 4040)
--          {4029, retry_after}  (lib/key_limit.lua)

local account, presented = ARGV[2], ARGV[3]
local key, values = read_verification(KEYS[2], KEYS[3], ARGV[4], {'a', 'st', 'i', 'n', 'h', 'to'})
local owner, status, packed, wrong, stored, to = unpack(values)
if not owner or owner ~= account or status ~= 'p' and status ~= 'l' then
    return {4040}
end
local settings = unpack_settings(packed)
if now_ms >= settings.gone then
    return {4040}
end
if status == 'l' then
    return {4042}
end
if now_ms >= settings.e then
    return {4041}
end

-- Constant time: every byte is compared whatever the first difference.
local difference = #presented == #stored and 0 or 1
for i = 1, math.min(#presented, #stored) do
    difference = bit.bor(difference, bit.bxor(string.byte(presented, i), string.byte(stored, i)))
end

local max_attempts = tonumber(settings.mx)
if difference == 0 then
    redis.call('HSET', key, 'st', 'a')
    redis.call('HDEL', key, 'h')
    return {0, 'approved', max_attempts - tonumber(wrong or 0), to}
end

wrong = redis.call('HINCRBY', key, 'n', 1)
local remaining = max_attempts - wrong
if remaining <= 0 then
    redis.call('HSET', key, 'st', 'l')
    redis.call('HDEL', key, 'h')
    return {0, 'locked', 0, to}
end
return {0, 'pending', remaining, to}
