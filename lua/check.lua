-- check: compares a code's hash with the stored one and moves the verification on:
-- approved (spent), one more wrong attempt, or locked on the last one. One call per
-- attempt, so concurrent checks are counted exactly.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- KEYS[2]  the verification hash v:{tag}<suffix>
-- ARGV[1]  requests per minute of the API key (lib/key_limit.lua)
-- ARGV[2]  the caller's account
-- ARGV[3]  keyed hash of the presented code (32 raw bytes)
--
-- Replies: {0, status, attempts_remaining, to} with status approved, pending or locked
--          {4040}  unknown, another account's, approved, canceled or superseded
--          {4042}  locked by earlier wrong codes
--          {4041}  expired (the key itself lives on for the grace period)
--          {4029, retry_after}  (lib/key_limit.lua)

local verification_key, account, presented = KEYS[2], ARGV[2], ARGV[3]

local owner, status, expires_ms, wrong, max_attempts, stored, to = unpack(
    redis.call('HMGET', verification_key, 'a', 'st', 'e', 'n', 'mx', 'h', 'to'))
if not owner or owner ~= account or status ~= 'p' and status ~= 'l' then
    return {4040}
end
if status == 'l' then
    return {4042}
end
if now_ms >= tonumber(expires_ms) then
    return {4041}
end

-- Constant time: every byte is compared whatever the first difference.
local difference = #presented == #stored and 0 or 1
for i = 1, math.min(#presented, #stored) do
    difference = bit.bor(difference, bit.bxor(string.byte(presented, i), string.byte(stored, i)))
end

if difference == 0 then
    redis.call('HSET', verification_key, 'st', 'a')
    return {0, 'approved', tonumber(max_attempts) - tonumber(wrong), to}
end

wrong = redis.call('HINCRBY', verification_key, 'n', 1)
local remaining = tonumber(max_attempts) - wrong
if remaining <= 0 then
    redis.call('HSET', verification_key, 'st', 'l')
    return {0, 'locked', 0, to}
end
return {0, 'pending', remaining, to}
