-- services verification: the index from a VE sid of the Twilio face to the tag of its
-- number, whose hash n:{p}<tag> holds the verification (lib/record.lua). The sid keeps its
-- number across resends in its service, so the entry does too; each send puts it again
-- for the new code's lifetime.
--
-- KEYS[1]  the entry s:{tag}:VE<hex>
-- ARGV[1]  put or get
-- ARGV[2]  put: the number's tag   ARGV[3]  put: how long the entry lives, ms
--
-- Replies: {0, tag} (get), {0} (put); {4040, 0} when get finds no entry

if ARGV[1] == 'put' then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    return {0}
end
local tag = redis.call('GET', KEYS[1])
if not tag then
    return {4040, 0}
end
return {0, tag}
