-- read: one verification (or its message) of the caller's account. Changes nothing
-- but the request counter.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- KEYS[2]  the verification hash v:{tag}<suffix>
-- ARGV[1]  requests per minute of the API key (lib/key_limit.lua)
-- ARGV[2]  the caller's account
-- ARGV[3]  the code to answer when there is none: 4040 (verification) or 4044 (message)
--
-- Replies: {0, now_ms, fields}  fields: field/value pairs, no code hash
--          {ARGV[3]}  unknown or another account's
--          {4029, retry_after}  (lib/key_limit.lua)

local verification_key, account = KEYS[2], ARGV[2]

if redis.call('HGET', verification_key, 'a') ~= account then
    return {tonumber(ARGV[3])}
end
return {0, now_ms, readable_fields(verification_key)}
