-- inbox put: a sandbox message joins its account's inbox, the index that the listing
-- without a number (GET /messages, the sandbox page; §13) reads, newest first. The index
-- holds only the message's job ref {p}<tag><suffix>: the message itself stays in its
-- number's slot, where every state change happens, and is read from there.
--
-- KEYS[1]  the account's inbox m:{tag}, a sorted set of job refs by creation time (ms)
-- ARGV[1]  the job ref   ARGV[2]  its creation time, ms
-- ARGV[3]  how many the inbox keeps (the newest)   ARGV[4]  how long it lives, ms
--
-- Replies: {0}

redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[3]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {0}
