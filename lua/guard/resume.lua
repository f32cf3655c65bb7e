-- guard resume: ends the pause of one target when its time has come (§10.3), for the
-- timers, which find it in the pause index. A pause for too many unsettled sends ends
-- once fewer are unsettled, or moves its end to the next settle. A pause that is gone
-- leaves the index.
--
-- KEYS[1]  the slot's pauses   KEYS[2]  the target's counts (lib/guard.lua)
-- KEYS[3]  the pause index     KEYS[4]  the events stream (lib/events.lua)
-- ARGV[1]  the target          ARGV[2]  the guard's settings (lib/guard.lua guard_begin)
-- ARGV[3]  the account   ARGV[4]  the mode, "s" or "l"   ARGV[5]  the country
-- ARGV[6]  whether events are recorded, 1/0
--
-- Replies: {0}  nothing ended     {0, change}  the pause that ended (lib/guard.lua)

guard_begin(ARGV[2], KEYS[3], ARGV[3], ARGV[4], ARGV[5])
record_events(KEYS[4], ARGV[6])
local t = guard_target(ARGV[1], KEYS[2])
local pause = read_pause(KEYS[1], t)
if not pause then
    redis.call('ZREM', KEYS[3], index_member(t.target))
    return {0}
end
if pause_over(KEYS[1], t, pause, read_counts(t)) then
    return {0, end_pause(KEYS[1], t, pause)}
end
return {0}
