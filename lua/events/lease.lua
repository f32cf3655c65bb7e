-- lease: takes or keeps the right to post events. One replica at a time posts them, in
-- the stream's order, so a verification's events arrive in the order they happened; a
-- replica that dies loses the lease when it runs out, and another takes over where the
-- stream stands (delivered events are deleted, so nothing is lost or skipped).
--
-- KEYS[1]  the lease
-- ARGV[1]  the replica asking (its VERIFYD_DELIVERY_CONSUMER: unique, stable across
--          restarts)
-- ARGV[2]  milliseconds the lease lasts from now; 0 gives it up (at a clean shutdown)
--
-- Replies: 1 the asker holds the lease (taken, extended or given up), 0 another replica
--          does

local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
    return 0
end
if tonumber(ARGV[2]) == 0 then
    redis.call('DEL', KEYS[1])
    return 1
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
