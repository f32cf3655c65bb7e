-- promote: moves delayed jobs whose time has come back onto the delivery stream.
--
-- KEYS[1]  the delayed jobs, a sorted set of jobs by the time they are due
-- KEYS[2]  the delivery stream
-- ARGV[1]  the most jobs to move
--
-- Replies: the number of jobs moved

local delayed_key, stream_key = KEYS[1], KEYS[2]
local due = redis.call('ZRANGEBYSCORE', delayed_key, '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[1]))
for _, job in ipairs(due) do
    redis.call('XADD', stream_key, '*', 'r', job)
    redis.call('ZREM', delayed_key, job)
end
return #due
