-- guard admit: the fraud guard's decisions on sends to one slot (§10.3), before the
-- sends create anything: the safe list, the pauses in force, the conversion of each
-- number's prefix and of the country, and the prefix's unsettled sends; an admitted send
-- is counted at once, in the same call, so that concurrent sends on any number of
-- replicas cannot slip past a threshold. A send that is then not created is taken back
-- (guard/release.lua). One call decides the sends that reached its slot while the call
-- before was in flight (service/store_guard.cpp), in their order, each decided and
-- counted before the next looks: as if each had a call of its own.
--
-- KEYS[1]  the slot's safe list   KEYS[2]  its pauses   KEYS[3]  its strikes
-- KEYS[4]  the country's counts   KEYS[5]  the pause index   KEYS[6]  the events stream
-- KEYS[6 + i]  the counts of send i's prefix (lib/guard.lua)
-- ARGV[1]  the guard's settings (lib/guard.lua guard_begin)
-- ARGV[2]  the account   ARGV[3]  the mode, "s" or "l"
-- ARGV[4]  the country (ISO, ZZ when unknown)   ARGV[5]  whether events are recorded, 1/0
-- ARGV[3 + 3i], ARGV[4 + 3i], ARGV[5 + 3i]  send i's number tag (the safe list holds
--          tags, never numbers), the guard's mode for it (on, monitor or off: off only
--          reads the safe list) and its prefix
--
-- Replies: {0, decision…}, one decision per send in their order, each {0, verdict,
--          target, reason, counted_at, change…}: verdict safe (on the safe list: not
--          judged, not counted), off, counted, monitored (counted, though a pause in
--          force or starting would refuse it) or refused (not counted); target and
--          reason the pause that refuses or would refuse ('' otherwise); counted_at the
--          time the send was counted at (ms, 0 when not), which approve.lua and
--          release.lua take; each change a pause that started or ended deciding this
--          send, JSON (lib/guard.lua pause_change)

guard_begin(ARGV[1], KEYS[5], ARGV[2], ARGV[3], ARGV[4])
record_events(KEYS[6], ARGV[5])
local pauses_key, strikes_key = KEYS[2], KEYS[3]
local sends = #KEYS - 6
-- The country's counts and each prefix's, read for the first send to them, counted in
-- memory by each and written once, at the end (sends to one prefix come in bursts, SMS
-- pumping's above all).
local country = nil
local prefixes, prefixes_in_order = {}, {}
-- Asked once for all the sends: which are on the safe list, and whether the slot has a
-- pause at all (until a send starts one, no send needs to look up its targets').
local tags = {}
for i = 1, sends do
    tags[i] = ARGV[3 + 3 * i]
end
local on_safe_list = redis.call('SMISMEMBER', KEYS[1], unpack(tags))
local pauses_exist = redis.call('EXISTS', pauses_key) == 1

local function prefix_of(prefix_target, prefix_key)
    local prefix = prefixes[prefix_key]
    if not prefix then
        prefix = guard_target(prefix_target, prefix_key)
        read_counts(prefix)
        prefixes[prefix_key] = prefix
        prefixes_in_order[#prefixes_in_order + 1] = prefix
    end
    return prefix
end

local function decide(safe, mode, prefix_target, prefix_key)
    if safe then
        return {0, 'safe', '', '', 0}
    end
    if mode == 'off' then
        return {0, 'off', '', '', 0}
    end
    local enforced = mode == 'on'
    local prefix = prefix_of(prefix_target, prefix_key)
    if not country then
        country = guard_target(ARGV[4], KEYS[4])
        read_counts(country)
    end
    local targets = {country, prefix}
    local changes, refusal = {}, nil

    local paused = {false, false}
    if pauses_exist then
        paused = redis.call('HMGET', pauses_key, country.target, prefix.target)
    end
    for i, t in ipairs(targets) do
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
                refusal = start_pause(pauses_key, strikes_key, t, t.counts, 'low_conversion',
                    enforced)
                pauses_exist = true
                changes[#changes + 1] = pause_change('started', refusal)
                break
            end
        end
    end

    if not refusal and prefix.counts.pending >= guard.max_pending then
        refusal = start_pause(pauses_key, strikes_key, prefix, prefix.counts,
            'too_many_pending', enforced)
        pauses_exist = true
        changes[#changes + 1] = pause_change('started', refusal)
    end

    local verdict, counted_at = 'counted', now_ms
    if refusal and enforced then
        verdict, counted_at = 'refused', 0
    else
        if refusal then
            verdict = 'monitored'
        end
        add_send(prefix)
        add_send(country)
    end
    local decision = {0, verdict, refusal and refusal.target or '',
        refusal and refusal.reason or '', counted_at}
    for _, change in ipairs(changes) do
        decision[#decision + 1] = change
    end
    return decision
end

local reply = {0}
for i = 1, sends do
    reply[#reply + 1] = decide(on_safe_list[i] == 1, ARGV[4 + 3 * i], ARGV[5 + 3 * i],
        KEYS[6 + i])
end
for _, prefix in ipairs(prefixes_in_order) do
    write_counts(prefix)
end
if country then
    write_counts(country)
end
return reply
