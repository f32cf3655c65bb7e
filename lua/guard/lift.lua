-- guard lift: an administrator lifts a pause (DELETE /fraud/blocks/{target}, §10.3): a
-- false positive, so the target's sends and strikes are forgotten with it.
--
-- KEYS[1]  the slot's pauses   KEYS[2]  its strikes   KEYS[3]  the target's counts
-- KEYS[4]  the pause index     KEYS[5]  the events stream (lib/events.lua)
-- ARGV[1]  the target          ARGV[2]  the guard's settings (lib/guard.lua guard_begin)
-- ARGV[3]  the account   ARGV[4]  the mode, "s" or "l"   ARGV[5]  the country
-- ARGV[6]  whether events are recorded, 1/0
--
-- Replies: {0, change}  the pause lifted     {4000}  the target has no pause

guard_begin(ARGV[2], KEYS[4], ARGV[3], ARGV[4], ARGV[5])
record_events(KEYS[5], ARGV[6])
local t = guard_target(ARGV[1], KEYS[3])
local pause = read_pause(KEYS[1], t)
if not pause then
    redis.call('ZREM', KEYS[4], index_member(t.target))
    return {4000}
end
redis.call('HDEL', KEYS[2], t.target)
redis.call('DEL', t.key)
return {0, end_pause(KEYS[1], t, pause)}
