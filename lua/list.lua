-- list: the caller's messages to one number, newest first. Changes nothing but the
-- request counter.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- KEYS[2]  the number's state hash n:{tag} (see send.lua)
-- ARGV[1]  requests per minute of the API key (lib/key_limit.lua)
-- ARGV[2]  the caller's account
-- ARGV[3]  the most messages to return
-- ARGV[4]  the verification key prefix v:{tag}
--
-- Replies: {0, now_ms, suffix, fields, suffix, fields, …}  one pair per message
--          {4029, retry_after}  (lib/key_limit.lua)

local number_key, account, limit, prefix = KEYS[2], ARGV[2], tonumber(ARGV[3]), ARGV[4]

local reply = {0, now_ms}
for suffix in string.gmatch(redis.call('HGET', number_key, 'msgs') or '', '%S+') do
    if (#reply - 2) / 2 >= limit then
        break
    end
    local verification_key = prefix .. suffix
    if redis.call('HGET', verification_key, 'a') == account then
        reply[#reply + 1] = suffix
        reply[#reply + 1] = readable_fields(verification_key)
    end
end
return reply
