-- cancel: ends a pending or locked verification so that later checks answer 4040.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- KEYS[2]  the number's hash n:{tag} (lib/common.lua)
-- KEYS[3]  the verification's own record o:{tag}<suffix>, used once superseded
-- ARGV[1]  requests per minute of the API key (lib/key_limit.lua)
-- ARGV[2]  the caller's account
-- ARGV[3]  the verification's suffix
--
-- Replies: {0, now_ms, fields}  fields: field/value pairs (lib/common.lua readable_fields)
--          {4040}  unknown, another account's, approved, canceled or superseded
--          {4041}  expired (answered for the grace period, then 4040)
--          {4029, retry_after}  (lib/key_limit.lua)

local account = ARGV[2]
local key, values = read_verification(KEYS[2], KEYS[3], ARGV[3], {'a', 'st', 'i'})
local owner, status, packed = unpack(values)
if not owner or owner ~= account or status ~= 'p' and status ~= 'l' then
    return {4040}
end
local settings = unpack_settings(packed)
if now_ms >= settings.gone then
    return {4040}
end
if now_ms >= settings.e then
    return {4041}
end
redis.call('HSET', key, 'st', 'c')
redis.call('HDEL', key, 'h')
return {0, now_ms, readable_fields(key)}
