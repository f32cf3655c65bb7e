-- inbox put: sandbox messages join their account's inbox, the index that the listing
-- without a number (GET /messages, the sandbox page; §13) reads, newest first. The index
-- holds only each message's job ref {p}<tag><suffix>: the message itself stays in its
-- number's slot, where every state change happens, and is read from there. One call
-- puts the messages that reached the account while the call before was in flight
-- (service/store_inbox.cpp).
--
-- Each message is scored by its creation time in microseconds, raised to one above the
-- newest score already held where it is not above it: every score is its own, and a
-- message put later is never listed as older. So newest first is the order messages
-- reached the inbox even within one millisecond, and a listing `since` a message (scores
-- strictly above its own, inbox/list.lua) misses none put after it.
--
-- KEYS[1]  the account's inbox m:{tag}, a sorted set of job refs by score
-- ARGV[1]  how many the inbox keeps (the newest)   ARGV[2]  how long it lives, ms
-- ARGV[3…] the messages, in the order they came: a job ref and its creation time (ms) each
--
-- Replies: {0}

local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local top = tonumber(newest[2]) or 0
local scored = {}
for i = 3, #ARGV - 1, 2 do
    top = math.max(tonumber(ARGV[i + 1]) * 1000, top + 1)
    -- Microseconds since 1970 are below 2^53: exact as a double, and written whole.
    scored[#scored + 1] = string.format('%.0f', top)
    scored[#scored + 1] = ARGV[i]
end
redis.call('ZADD', KEYS[1], unpack(scored))
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[1]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {0}
