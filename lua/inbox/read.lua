-- inbox read: one message of an inbox listing (inbox/list.lua) as the caller may see it,
-- without counting a request: the listing counted it once.
--
-- KEYS[1]  the number's hash n:{p}<tag> (lib/record.lua)
-- KEYS[2]  the verification's own record o:{p}<tag><suffix>, used once superseded
--          or when not inline
-- ARGV[1]  the caller's account   ARGV[2]  the suffix   ARGV[3]  the caller's mode, s or l
--
-- Replies: {0, now_ms, fields}  fields: field/value pairs (lib/record.lua readable_fields)
--          {4044}  forgotten, another account's or another mode's

local account, mode = ARGV[1], ARGV[3]
local key, values = read_verification(KEYS[1], KEYS[2], ARGV[2], {F.account, F.settings})
local owner, packed = unpack(values)
local fields = owner == account and packed and of_mode(unpack_settings(packed), mode) and
                   readable_fields(key)
if not fields then
    return {4044}
end
return {0, now_ms, fields}
