-- list: the caller's messages to one number in its mode, newest first: the current verification,
-- then the ones it superseded, one after the other. Changes nothing but the request
-- counter.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- KEYS[2]  the number's hash n:{p}<tag> (lib/record.lua)
-- ARGV[1]  requests per minute of the API key (lib/key_limit.lua)
-- ARGV[2]  the caller's account
-- ARGV[3]  the most messages to return
-- ARGV[4]  the record key prefix o:{p}<tag>
-- ARGV[5]  the caller's mode, "s" or "l"
--
-- Replies: {0, now_ms, suffix, fields, suffix, fields, …}  one pair per message
--          {4029, retry_after}  (lib/key_limit.lua)

local number_key, account, limit, record_prefix = KEYS[2], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local mode = ARGV[5]

local reply = {0, now_ms}
local suffix, key = current_verification(number_key, record_prefix)
while suffix and (#reply - 2) / 2 < limit do
    local owner, previous, packed = unpack(redis.call('HMGET', key, F.account, F.previous, F.settings))
    local fields = owner == account and packed and of_mode(unpack_settings(packed), mode) and
                       readable_fields(key)
    if fields then
        reply[#reply + 1] = suffix
        reply[#reply + 1] = fields
    end
    suffix, key = previous, previous and record_prefix .. previous
end
return reply
