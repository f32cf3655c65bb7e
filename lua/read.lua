-- read: one verification (or its message) of the caller's account. Changes nothing
-- but the request counter.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- KEYS[2]  the number's hash n:{p}<tag> (lib/record.lua)
-- KEYS[3]  the verification's own record o:{p}<tag><suffix>, used once superseded
--          or when not inline
-- ARGV[1]  requests per minute of the API key (lib/key_limit.lua)
-- ARGV[2]  the caller's account
-- ARGV[3]  the verification's suffix
-- ARGV[4]  the code to answer when there is none: 4040 (verification) or 4044 (message)
-- ARGV[5]  the caller's mode, "s" or "l"
--
-- Replies: {0, now_ms, fields}  fields: field/value pairs (lib/record.lua readable_fields)
--          {ARGV[4]}  unknown, forgotten, another account's or another mode's
--          {4029, retry_after}  (lib/key_limit.lua)

local account, mode = ARGV[2], ARGV[5]
local key, values = read_verification(KEYS[2], KEYS[3], ARGV[3], {F.account, F.settings})
local owner, packed = unpack(values)

local fields = owner == account and packed and of_mode(unpack_settings(packed), mode) and
                   readable_fields(key)
if not fields then
    return {tonumber(ARGV[4])}
end
return {0, now_ms, fields}
