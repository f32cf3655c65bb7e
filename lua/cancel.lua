-- cancel: ends a pending or locked verification so that later checks answer 4040.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- KEYS[2]  the verification hash v:{tag}<suffix>
-- ARGV[1]  requests per minute of the API key (lib/key_limit.lua)
-- ARGV[2]  the caller's account
--
-- Replies: {0, now_ms, fields}  fields: the verification as field/value pairs, no code hash
--          {4040}  unknown, another account's, approved, canceled or superseded
--          {4041}  expired
--          {4029, retry_after}  (lib/key_limit.lua)

local verification_key, account = KEYS[2], ARGV[2]

local owner, status, expires_ms = unpack(redis.call('HMGET', verification_key, 'a', 'st', 'e'))
if not owner or owner ~= account or status ~= 'p' and status ~= 'l' then
    return {4040}
end
if now_ms >= tonumber(expires_ms) then
    return {4041}
end
redis.call('HSET', verification_key, 'st', 'c')
return {0, now_ms, readable_fields(verification_key)}
