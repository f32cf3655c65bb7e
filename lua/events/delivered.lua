-- delivered: removes an event its endpoint accepted from the events stream. Whoever
-- posted it (the lease's holder, or one that lost the lease while posting) may remove it:
-- the event arrived.
--
-- KEYS[1]  the events stream
-- ARGV[1]  the stream entry id
--
-- Replies: the number of entries removed (0 when removed before)

return redis.call('XDEL', KEYS[1], ARGV[1])
