-- guard admit: the fraud guard's decision on one send (§10.3), before the send creates
-- anything: the safe list, the pauses in force, the conversion of the number's prefix
-- and country, and the prefix's unsettled sends; an admitted send is counted at once, in
-- the same call, so that concurrent sends on any number of replicas cannot slip past a
-- threshold. A send that is then not created is taken back (guard/release.lua).
--
-- KEYS[1]  the slot's safe list   KEYS[2]  its pauses   KEYS[3]  its strikes
-- KEYS[4]  the prefix's counts    KEYS[5]  the country's counts (lib/guard.lua)
-- KEYS[6]  the pause index        KEYS[7]  the events stream (lib/events.lua)
-- ARGV[1]  the number's tag (the safe list holds tags, never numbers)
-- ARGV[2]  the guard's mode: on, monitor or off (off: only the safe list is read)
-- ARGV[3]  the prefix    ARGV[4]  the country (ISO, ZZ when unknown)
-- ARGV[5]  the guard's settings (lib/guard.lua guard_begin)
-- ARGV[6]  the account   ARGV[7]  the mode, "s" or "l"
-- ARGV[8]  whether events are recorded, 1/0
--
-- Replies: {0, verdict, target, reason, counted_at, change…}: verdict safe (on the safe
--          list: not judged, not counted), off, counted, monitored (counted, though a
--          pause in force or starting would refuse it) or refused (not counted); target
--          and reason the pause that refuses or would refuse ('' otherwise); counted_at
--          the time the send was counted at (ms, 0 when not), which approve.lua and
--          release.lua take; each change a pause that started or ended in this call,
--          JSON (lib/guard.lua pause_change)

local mode = ARGV[2]
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
    return {0, 'safe', '', '', 0}
end
if mode == 'off' then
    return {0, 'off', '', '', 0}
end
guard_begin(ARGV[5], KEYS[6], ARGV[6], ARGV[7], ARGV[4])
record_events(KEYS[7], ARGV[8])
local pauses_key, strikes_key = KEYS[2], KEYS[3]
local enforced = mode == 'on'
local targets = {guard_target(ARGV[4], KEYS[5]), guard_target(ARGV[3], KEYS[4])}
local changes, refusal = {}, nil

local paused = redis.call('HMGET', pauses_key, targets[1].target, targets[2].target)
for i, t in ipairs(targets) do
    read_counts(t)
    local pause = paused[i] and cjson.decode(paused[i])
    if pause and pause_over(pauses_key, t, pause, t.counts) then
        changes[#changes + 1] = end_pause(pauses_key, t, pause)
    elseif pause then
        refusal = refusal or pause
    end
end

if not refusal then
    for _, t in ipairs(targets) do
        local least = t.kind == 'country' and 5 * guard.min_sends or guard.min_sends
        local settled, approved = t.counts.settled, t.counts.approved
        if settled >= least and approved / settled < guard.min_conversion then
            refusal = start_pause(pauses_key, strikes_key, t, t.counts, 'low_conversion', enforced)
            changes[#changes + 1] = pause_change('started', refusal)
            break
        end
    end
end

local prefix = targets[2]
if not refusal and prefix.counts.pending >= guard.max_pending then
    refusal = start_pause(pauses_key, strikes_key, prefix, prefix.counts, 'too_many_pending',
        enforced)
    changes[#changes + 1] = pause_change('started', refusal)
end

local verdict, counted_at = 'counted', now_ms
if refusal and enforced then
    verdict, counted_at = 'refused', 0
else
    if refusal then
        verdict = 'monitored'
    end
    for _, t in ipairs(targets) do
        count_send(t)
    end
end
local reply = {0, verdict, refusal and refusal.target or '', refusal and refusal.reason or '',
    counted_at}
for _, change in ipairs(changes) do
    reply[#reply + 1] = change
end
return reply
