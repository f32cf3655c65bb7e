-- inbox list: the newest job refs of an account's inbox (inbox/put.lua), or the newest of
-- those after a given one. A ref whose message is forgotten is still listed: the reader
-- finds nothing in the number's slot and leaves it out.
--
-- KEYS[1]  the account's inbox m:{tag}
-- ARGV[1]  the most refs to answer
-- ARGV[2]  a job ref: only those created after it ('' for none; one the inbox does not
--          hold any more is as none)
--
-- Replies: {0, ref, ref, …} newest first

local after = ARGV[2] ~= '' and redis.call('ZSCORE', KEYS[1], ARGV[2])
local low = after and '(' .. after or '-inf'
local refs = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', low, 'LIMIT', 0, tonumber(ARGV[1]))
table.insert(refs, 1, 0)
return refs
