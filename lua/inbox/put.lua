-- inbox put: sandbox messages join their account's inbox, the index that the listing
-- without a number (GET /messages, the sandbox page; §13) reads, newest first. The index
-- holds only each message's job ref {p}<tag><suffix>: the message itself stays in its
-- number's slot, where every state change happens, and is read from there. One call
-- puts the messages that reached the account while the call before was in flight
-- (service/store_inbox.cpp).
--
-- KEYS[1]  the account's inbox m:{tag}, a sorted set of job refs by creation time (ms)
-- ARGV[1]  how many the inbox keeps (the newest)   ARGV[2]  how long it lives, ms
-- ARGV[3…] the messages: a job ref and its creation time (ms) each
--
-- Replies: {0}

local scored = {}
for i = 3, #ARGV - 1, 2 do
    scored[#scored + 1] = ARGV[i + 1]
    scored[#scored + 1] = ARGV[i]
end
redis.call('ZADD', KEYS[1], unpack(scored))
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[1]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {0}
