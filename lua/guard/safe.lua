-- guard safe: the safe list of one account, mode and country (§10.3): numbers that skip
-- the client limits and the guard, never the destination policy. Held as number tags.
--
-- KEYS[1]  the slot's safe list
-- ARGV[1]  put, get or delete   ARGV[2]  the number's tag
--
-- Replies: {0, 1 or 0}  whether the number is on the list afterwards

local operation, tag = ARGV[1], ARGV[2]
if operation == 'put' then
    redis.call('SADD', KEYS[1], tag)
elseif operation == 'delete' then
    redis.call('SREM', KEYS[1], tag)
end
return {0, redis.call('SISMEMBER', KEYS[1], tag)}
