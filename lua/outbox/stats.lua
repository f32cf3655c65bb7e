-- stats: the size of the outbox and the age of its oldest undelivered job.
--
-- KEYS[1]  the undelivered index, a sorted set of jobs by creation time
--
-- Replies: {undelivered_jobs, age_of_the_oldest_in_ms (0 when none)}

local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local age_ms = 0
if oldest[2] then
    age_ms = now_ms - tonumber(oldest[2])
end
return {redis.call('ZCARD', KEYS[1]), age_ms}
