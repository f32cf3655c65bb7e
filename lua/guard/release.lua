-- guard release: takes back a send that guard/admit.lua counted but that was not created
-- after all (a per-number limit, a client limit or a failure refused it), so that a
-- refused send counts nothing.
--
-- KEYS[1]  the prefix's unsettled sends   KEYS[2]  the country's unsettled sends
-- ARGV[1]  the verification's suffix
--
-- Replies: {0}

redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return {0}
