-- guard: the fraud guard's counts and pauses (§10.3), for lua/guard/*.lua. Part of the
-- function library, after lib/events.lua. Not for: the destination policy (C++) or the
-- client limits (lua/client/limit.lua).
--
-- One account, mode and country share one hash slot g:{p}<tag> (service/redis_keys.cpp;
-- p its partition), so that a send's decision reads and counts its prefix and its
-- country in one call. A
-- target is a prefix ("+234803123", the number without its last four digits) or the
-- country ("NG"). Its counts are one hash of counters by send time, so that a target
-- costs the same memory whatever its traffic:
--   n<b>, a<b>  sends and approvals of fine bucket b (settle time / 10 wide), while
--               some of its sends may be unsettled: unsettled = n - a
--   S<B>, A<B>  settled and approved sends of coarse bucket B (window / 40 wide), into
--               which a fine bucket rolls once all its sends have settled; A absent for 0
--   r           the time the target's history was last forgotten
--   tS, tA      the sums of S and A;  tn, ta  the sums of n and a
--   B           the fine buckets there are, oldest first: the first one's number, then
--               each one's distance from the one before ("b d d …", at most about 11),
--               so that the field stays within the 64 bytes of a value that Redis keeps
--               in its compact encoding (whole numbers, "F", outgrew it)
--   c           the oldest coarse bucket that may be there
--   x           when a send last set the hash's expiry
-- so that a send reads a few fields, not every bucket.
-- and the slot has:
--   pauses      hash: target → the pause in force, JSON (the fields of GET /fraud/blocks)
--   strikes     hash: target → JSON array of the times its pauses began, last 7 days
--   safe        set: number tags of the safe list
-- A pause in force is also in the pause index (score: when it ends), which the timers
-- read to end pauses on time and GET /fraud/blocks reads to find them.

local GUARD_STRIKE_MS = 7 * 86400 * 1000
local GUARD_LONGEST_PAUSE_MS = 86400 * 1000

-- The call's settings (guard_begin).
local guard = nil
-- The last settings parsed, by their packed form: every replica sends the same string,
-- and parsing it costs a send more than its counts do.
local parsed_packed, parsed_settings = nil, nil

-- `packed`: "window_s settle_s min_sends min_conversion max_pending block_s"; then the
-- pause index and the account, mode and country of the slot, for the index and events.
local function guard_begin(packed, index_key, account, mode, country)
    if packed ~= parsed_packed then
        local v = {}
        for value in string.gmatch(packed, '%S+') do
            v[#v + 1] = tonumber(value)
        end
        parsed_settings = {window_ms = v[1] * 1000, settle_ms = v[2] * 1000,
            min_sends = v[3], min_conversion = v[4], max_pending = v[5],
            block_ms = v[6] * 1000}
        parsed_settings.fine_ms = math.max(1, math.floor(parsed_settings.settle_ms / 10))
        parsed_settings.coarse_ms = math.max(1000, math.floor(parsed_settings.window_ms / 40))
        parsed_settings.keep_ms = int_text(parsed_settings.window_ms +
            parsed_settings.settle_ms + parsed_settings.coarse_ms)
        parsed_packed = packed
    end
    guard = parsed_settings
    guard.index, guard.account, guard.mode, guard.country = index_key, account, mode, country
    guard.bucket_number = math.floor(now_ms / guard.fine_ms)
    guard.bucket = int_text(guard.bucket_number)
end

local function guard_target(target, key)
    local kind = string.sub(target, 1, 1) == '+' and 'prefix' or 'country'
    return {target = target, kind = kind, key = key}
end

local function fine_of(ms)
    return math.floor(ms / guard.fine_ms)
end

-- The hash field of fine bucket `bucket` for `letter` (n sends, a approvals).
local function fine_field(letter, bucket)
    return letter .. int_text(bucket)
end

local function coarse_of(ms)
    return math.floor(ms / guard.coarse_ms)
end

local function keep_counts(t)
    redis.call('PEXPIRE', t.key, guard.keep_ms)
end

-- Whether the expiry of `t` was last set more than a coarse bucket ago (field x, read by
-- read_counts): a send need not set it again before, since it lasts a coarse bucket
-- longer than the window and the settle time.
local function counts_expiry_due(t)
    return not t.kept_at or now_ms - t.kept_at >= guard.coarse_ms
end

-- A hash field's number, 0 when absent.
local function number_of(value)
    return tonumber(value) or 0
end

-- The fine buckets of field B, oldest first.
local function decode_buckets(text)
    local buckets, previous = {}, 0
    for step in string.gmatch(text or '', '%S+') do
        previous = previous + tonumber(step)
        buckets[#buckets + 1] = previous
    end
    return buckets
end

local function encode_buckets(buckets)
    local steps, previous = {}, 0
    for i, b in ipairs(buckets) do
        steps[i] = int_text(b - previous)
        previous = b
    end
    return table.concat(steps, ' ')
end

-- The fine buckets of B and of a field F that a release before B wrote (the two may
-- share a Redis during a rolling update): every bucket once, oldest first.
local function merge_buckets(buckets, whole_numbers)
    local seen = {}
    for _, b in ipairs(buckets) do
        seen[b] = true
    end
    for b in string.gmatch(whole_numbers, '%S+') do
        b = tonumber(b)
        if not seen[b] then
            seen[b] = true
            buckets[#buckets + 1] = b
        end
    end
    table.sort(buckets)
    return buckets
end

-- The fine buckets of `t` (after read_counts), decoded from B when first asked for: most
-- sends neither roll a bucket nor start one, and decoding costs a send more than its counts.
local function fine_buckets(t)
    if not t.fine then
        t.fine = decode_buckets(t.fine_text)
    end
    return t.fine
end

-- Writes the running totals and bucket lists that read_counts keeps in memory.
local function save_totals(t)
    local c = t.counts
    t.fine_text = encode_buckets(fine_buckets(t))
    redis.call('HSET', t.key, 'tS', c.coarse_settled, 'tA', c.coarse_approved, 'tn',
        c.fine_sent, 'ta', c.fine_approved, 'B', t.fine_text, 'c', c.oldest_coarse or '')
end

-- Rolls the fine buckets of `t` whose sends have all settled into their coarse buckets,
-- taking over first the buckets of a list F (`whole_numbers`, or false) that a release
-- before B wrote; t.fine then lists the buckets left.
local function roll_settled(t, c, whole_numbers)
    local buckets = decode_buckets(t.fine_text)
    if whole_numbers then
        buckets = merge_buckets(buckets, whole_numbers)
        redis.call('HDEL', t.key, 'F')
    end
    t.fine = {}
    local window_start = coarse_of(now_ms - guard.window_ms)
    for _, bucket in ipairs(buckets) do
        if (bucket + 1) * guard.fine_ms <= now_ms - guard.settle_ms then
            local sent_field, approved_field = fine_field('n', bucket), fine_field('a', bucket)
            local fine = redis.call('HMGET', t.key, sent_field, approved_field)
            local sent, approved = number_of(fine[1]), number_of(fine[2])
            redis.call('HDEL', t.key, sent_field, approved_field)
            c.fine_sent, c.fine_approved = c.fine_sent - sent, c.fine_approved - approved
            local coarse = coarse_of(bucket * guard.fine_ms)
            if coarse >= window_start and sent > 0 then
                redis.call('HINCRBY', t.key, 'S' .. coarse, sent)
                -- An absent A is 0: a target whose sends nobody approves (the pumped
                -- kind) keeps half the fields.
                if approved > 0 then
                    redis.call('HINCRBY', t.key, 'A' .. coarse, approved)
                end
                c.coarse_settled = c.coarse_settled + sent
                c.coarse_approved = c.coarse_approved + approved
                c.oldest_coarse = math.min(c.oldest_coarse or coarse, coarse)
            end
        else
            t.fine[#t.fine + 1] = bucket
        end
    end
end

-- Drops the coarse buckets of `t` older than the window from its totals; whether any was.
local function drop_old_coarse(t, c)
    local window_start = coarse_of(now_ms - guard.window_ms)
    local dropped = false
    while c.oldest_coarse and c.oldest_coarse < window_start do
        local b = c.oldest_coarse
        local coarse = redis.call('HMGET', t.key, 'S' .. b, 'A' .. b)
        redis.call('HDEL', t.key, 'S' .. b, 'A' .. b)
        c.coarse_settled = c.coarse_settled - number_of(coarse[1])
        c.coarse_approved = c.coarse_approved - number_of(coarse[2])
        c.oldest_coarse = c.coarse_settled > 0 and b + 1 or nil
        dropped = true
    end
    return dropped
end

-- The counts of `t` within the window, from its running totals: a send costs a few
-- fields read, whatever the target's traffic. Fine buckets whose sends have all settled
-- roll into their coarse bucket and coarse buckets older than the window are dropped
-- here, each once, so that the totals always cover exactly the window.
local function read_counts(t)
    local v = redis.call('HMGET', t.key, 'tS', 'tA', 'tn', 'ta', 'B', 'c', 'x',
        fine_field('n', guard.bucket_number), 'F')
    local c = {coarse_settled = number_of(v[1]), coarse_approved = number_of(v[2]),
        fine_sent = number_of(v[3]), fine_approved = number_of(v[4]),
        oldest_coarse = tonumber(v[6])}
    t.counts, t.fine, t.kept_at, t.current_sent = c, nil, tonumber(v[7]), number_of(v[8])
    -- (HMGET answers false, not nil, for a field that does not exist.)
    t.fine_text, t.current_listed = v[5] or '', v[8] ~= false
    -- B lists a bucket exactly while its field n<b> exists (write_counts writes both, rolling
    -- removes both), oldest first: only when the oldest has settled is there one to roll,
    -- or when a list F is left to take over.
    local oldest = tonumber(string.match(t.fine_text, '^%d+'))
    local changed = false
    if v[9] or oldest and (oldest + 1) * guard.fine_ms <= now_ms - guard.settle_ms then
        roll_settled(t, c, v[9])
        changed = true
    end
    if drop_old_coarse(t, c) then
        changed = true
    end
    if changed then
        save_totals(t)
    end
    c.settled = c.coarse_settled + c.fine_approved
    c.approved = c.coarse_approved + c.fine_approved
    c.pending = c.fine_sent - c.fine_approved
    return c
end

-- Forgets the sends of `t`: approvals of sends from before now no longer count either.
local function forget_history(t)
    redis.call('DEL', t.key)
    redis.call('HSET', t.key, 'r', now_ms)
    t.counts = {coarse_settled = 0, coarse_approved = 0, fine_sent = 0, fine_approved = 0,
        settled = 0, approved = 0, pending = 0}
    t.fine, t.fine_text, t.kept_at, t.current_sent, t.current_listed = {}, '', nil, 0, false
    t.unwritten, t.list_changed = false, false
    keep_counts(t)
end

-- A send counted for `t` now, after read_counts, in memory: its counts as read_counts
-- would read them after the send, for the next send of the same call. write_counts
-- writes them.
local function add_send(t)
    local current = guard.bucket_number
    if not t.current_listed then
        local buckets = fine_buckets(t)
        local last = buckets[#buckets]
        buckets[#buckets + 1] = current
        t.fine_text = last and t.fine_text .. ' ' .. int_text(current - last) or guard.bucket
        t.current_listed, t.list_changed = true, true
    end
    t.current_sent = t.current_sent + 1
    t.counts.fine_sent, t.counts.pending = t.counts.fine_sent + 1, t.counts.pending + 1
    t.unwritten = true
end

-- Writes the sends add_send counted for `t`, if any: one write.
local function write_counts(t)
    if not t.unwritten then
        return
    end
    local fields = {fine_field('n', guard.bucket_number), int_text(t.current_sent), 'tn',
        int_text(t.counts.fine_sent)}
    if t.list_changed then
        fields[#fields + 1], fields[#fields + 2] = 'B', t.fine_text
    end
    local expiry_due = counts_expiry_due(t)
    if expiry_due then
        fields[#fields + 1], fields[#fields + 2] = 'x', int_text(now_ms)
    end
    redis.call('HSET', t.key, unpack(fields))
    if expiry_due then
        keep_counts(t)
        t.kept_at = now_ms
    end
    t.unwritten, t.list_changed = false, false
end

-- The fine bucket of the oldest unsettled send of `t` (after read_counts), nil if none.
local function oldest_pending(t)
    write_counts(t)
    for _, b in ipairs(fine_buckets(t)) do
        local fine = redis.call('HMGET', t.key, fine_field('n', b), fine_field('a', b))
        if number_of(fine[1]) > number_of(fine[2]) then
            return b
        end
    end
    return nil
end

-- Takes back a send counted for the target whose counts are `key` at `at_ms`, if its
-- fine bucket is still there (a bucket that settled or was forgotten keeps its count).
local function uncount_send(key, at_ms)
    local field = fine_field('n', fine_of(at_ms))
    if redis.call('HEXISTS', key, field) == 1 then
        redis.call('HINCRBY', key, field, -1)
        redis.call('HINCRBY', key, 'tn', -1)
    end
end

-- The approval of a send counted at `sent_ms`: converted, whether or not it had settled.
-- Its bucket, fine or coarse, is still there unless the send's history was forgotten or
-- left the window.
local function count_approval(t, sent_ms)
    local reset = tonumber(redis.call('HGET', t.key, 'r') or 0)
    if sent_ms < reset or sent_ms <= now_ms - guard.window_ms then
        return
    end
    local fine, coarse = fine_of(sent_ms), coarse_of(sent_ms)
    if redis.call('HEXISTS', t.key, fine_field('n', fine)) == 1 then
        redis.call('HINCRBY', t.key, fine_field('a', fine), 1)
        redis.call('HINCRBY', t.key, 'ta', 1)
    elseif redis.call('HEXISTS', t.key, 'S' .. coarse) == 1 then
        redis.call('HINCRBY', t.key, 'A' .. coarse, 1)
        redis.call('HINCRBY', t.key, 'tA', 1)
    else
        return
    end
    keep_counts(t)
end

local function index_member(target)
    return cjson.encode({guard.account, guard.mode, guard.country, target})
end

local function read_pause(pauses_key, t)
    local stored = redis.call('HGET', pauses_key, t.target)
    return stored and cjson.decode(stored)
end

-- fraud.paused or fraud.resumed about `pause` (lib/events.lua).
local function emit_pause_event(event_type, pause)
    if events_stream then
        local body = {account = guard.account, sandbox = guard.mode == 's',
            country = guard.country}
        for name, value in pairs(pause) do
            body[name] = value
        end
        redis.call('XADD', events_stream, '*', 't', event_type, 'r', '', 'at', now_ms,
            'v', cjson.encode(body))
    end
end

-- The pause as reported to the caller: its fields and whether it started or ended.
local function pause_change(change, pause)
    local out = {change = change, country = guard.country}
    for name, value in pairs(pause) do
        out[name] = value
    end
    return cjson.encode(out)
end

-- When a pause for too many unsettled sends ends at the latest: its oldest settles.
local function pending_pause_end(t)
    return (oldest_pending(t) + 1) * guard.fine_ms + guard.settle_ms
end

-- Pauses `t` (whose counts are `counts`) for `reason`, with a strike unless the reason is
-- too many unsettled sends. Returns the pause.
local function start_pause(pauses_key, strikes_key, t, counts, reason, enforced)
    local pause = {target = t.target, kind = t.kind, reason = reason,
        sends = counts.settled + counts.pending, approved = counts.approved,
        settled = counts.settled, enforced = enforced, paused_at = now_ms}
    local strikes = {}
    for _, began in ipairs(cjson.decode(redis.call('HGET', strikes_key, t.target) or '[]')) do
        if began > now_ms - GUARD_STRIKE_MS then
            strikes[#strikes + 1] = began
        end
    end
    if reason == 'too_many_pending' then
        pause.expires_at = pending_pause_end(t)
    else
        local duration = math.min(guard.block_ms * 2 ^ #strikes, GUARD_LONGEST_PAUSE_MS)
        pause.expires_at = now_ms + math.floor(duration)
        strikes[#strikes + 1] = now_ms
        redis.call('HSET', strikes_key, t.target, cjson.encode(strikes))
        redis.call('PEXPIRE', strikes_key, GUARD_STRIKE_MS)
        forget_history(t)
    end
    pause.strikes = #strikes
    redis.call('HSET', pauses_key, t.target, cjson.encode(pause))
    redis.call('PEXPIRE', pauses_key, 2 * GUARD_LONGEST_PAUSE_MS)
    redis.call('ZADD', guard.index, pause.expires_at, index_member(t.target))
    emit_pause_event('fraud.paused', pause)
    return pause
end

local function end_pause(pauses_key, t, pause)
    redis.call('HDEL', pauses_key, t.target)
    redis.call('ZREM', guard.index, index_member(t.target))
    emit_pause_event('fraud.resumed', pause)
    return pause_change('ended', pause)
end

-- Whether the pause of `t` is over: its time has come, or, for too many unsettled sends,
-- fewer are unsettled than the cap. One for unsettled sends that goes on gets the time
-- its oldest settles as its end.
local function pause_over(pauses_key, t, pause, counts)
    if pause.reason ~= 'too_many_pending' then
        return now_ms >= pause.expires_at
    end
    if counts.pending < guard.max_pending then
        return true
    end
    local expires_at = pending_pause_end(t)
    if expires_at ~= pause.expires_at then
        pause.expires_at = expires_at
        redis.call('HSET', pauses_key, t.target, cjson.encode(pause))
        redis.call('ZADD', guard.index, expires_at, index_member(t.target))
    end
    return false
end
