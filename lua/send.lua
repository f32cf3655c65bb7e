-- send: refuses by per-number limits, supersedes the number's current verification,
-- creates the new one and, for a live send, enqueues its delivery job, all at once so
-- replicas cannot race past a limit and an accepted send always has its job.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- KEYS[2]  the number's hash n:{p}<tag> (lib/record.lua)
-- KEYS[3]  the delivery stream (live sends add their job, field r = {p}<tag><suffix>)
-- KEYS[4]  the undelivered index, a sorted set of {p}<tag><suffix> by creation time
-- KEYS[5]  the events stream (lib/events.lua)
-- KEYS[6]  the due index, a sorted set of {p}<tag><suffix> by the time delivery/due.lua must
--          look at them (a fallback timer, an expiry to report, a sandbox step's event)
-- KEYS[7]  with an Idempotency-Key: its record r:{p}<tag><name> (lib/idempotency.lua)
-- KEYS[8]  on one Redis, with an Idempotency-Key: its claim i:{name}, taken in this
--          call (lib/idempotency.lua)
-- ARGV[1]  requests per minute of the API key (lib/key_limit.lua)
-- ARGV[2]  mode: "s" sandbox or "l" live (each mode has numbers of its own: n:{p}<tag>
--          differs; a hash written before that may hold the other mode's verification)
-- ARGV[3]  send windows, "COUNT/SECONDS,COUNT/SECONDS"
-- ARGV[4]  resend cooldown in seconds (0 = none)
-- ARGV[5]  time to live of the code in seconds
-- ARGV[6]  grace in seconds during which an expired verification still answers 4041
-- ARGV[7]  the record key prefix o:{p}<tag>
-- ARGV[8]  the new verification's suffix
-- ARGV[9]  the request's fingerprint, ARGV[10] follow (1/0), ARGV[11] the record's time
--          to live in s (lib/idempotency.lua; unused without KEYS[7])
-- ARGV[12] whether events are recorded, 1/0 (lib/events.lua)
-- ARGV[13] a refusal decided before the send, "code retry_after detail" (the fraud
--          guard's 4032 or a client limit's 4045), or '': the send then creates nothing,
--          and only records the refusal under its Idempotency-Key, unless an answer is
--          recorded there already (a retry of a send that was created replays it)
-- ARGV[14…] field, value pairs of the new verification (lib/record.lua); len, mx, ch,
--          fb, fa, cc, gd and sb go into its settings, empty values are left out; a send
--          of the Twilio face gives its service sv and a new VE sid ve, which it keeps
--          only when it supersedes a pending verification of the same service: it then
--          takes that one's VE sid and adds to its send attempts sa
--
-- Replies: {0, created_ms, expires_ms, suffix, ve, sa} (ve and sa empty for a send that
--          gives no service)
--          {4043, retry_after}  a window or the cooldown refuses; nothing is counted
--          {code, retry_after, detail}  the refusal of ARGV[13]
--          {4029, retry_after}  (lib/key_limit.lua)
--          and those of lib/idempotency.lua

local number_key, stream_key, undelivered_key, due_key = KEYS[2], KEYS[3], KEYS[4], KEYS[6]
local mode, windows_spec = ARGV[2], ARGV[3]
local cooldown_ms = tonumber(ARGV[4]) * 1000
local ttl_s, grace_s = tonumber(ARGV[5]), tonumber(ARGV[6])
local record_prefix, suffix = ARGV[7], ARGV[8]
local first_field = 14

local windows, longest_ms = {}, cooldown_ms
for count, seconds in string.gmatch(windows_spec, '(%d+)/(%d+)') do
    windows[#windows + 1] = {tonumber(count), tonumber(seconds) * 1000}
    longest_ms = math.max(longest_ms, tonumber(seconds) * 1000)
end

-- The send times of a stored list that are within the longest window, oldest first.
local function recent_times(stored)
    local times = {}
    for t in string.gmatch(stored or '', '%d+') do
        if tonumber(t) > now_ms - longest_ms then
            times[#times + 1] = tonumber(t)
        end
    end
    return times
end

local twilio_fields = {[F.service] = true, [F.twilio_sid] = true, [F.send_attempts] = true}

-- The send attempts of a VE sid with this send on `channel` added (the channel's letter
-- and the seconds since the first send; the first one starts the list with its time).
local function add_send_attempt(attempts, channel)
    local letter = channel == 'whatsapp' and 'w' or 's'
    local first_ms = attempts and tonumber(string.match(attempts, '^(%d+)'))
    if not first_ms then
        return now_ms .. ' ' .. letter .. '0'
    end
    return attempts .. ' ' .. letter .. math.floor((now_ms - first_ms) / 1000)
end

local function run()
    record_events(KEYS[5], ARGV[12])
    -- This mode's send times within the longest window, oldest first: the listed ones
    -- and, when the current verification is inline, its own.
    local times_field = mode == 's' and F.sandbox_times or F.live_times
    local stored_times, current, packed =
        unpack(redis.call('HMGET', number_key, times_field, F.current, F.settings))
    local times = recent_times(stored_times)
    local current_settings = current and unpack_settings(packed)
    local current_mode = current_settings and (current_settings.sb == '1' and 's' or 'l')
    if current_mode == mode and tonumber(current_settings.c) > now_ms - longest_ms then
        times[#times + 1] = tonumber(current_settings.c)
    end

    local wait_ms = 0
    if cooldown_ms > 0 and #times > 0 then
        wait_ms = math.max(wait_ms, times[#times] + cooldown_ms - now_ms)
    end
    for _, window in ipairs(windows) do
        local limit, span_ms = window[1], window[2]
        local in_window = 0
        for _, t in ipairs(times) do
            if t > now_ms - span_ms then
                in_window = in_window + 1
            end
        end
        if in_window >= limit then
            -- The send becomes possible when the limit-th newest send leaves the window.
            wait_ms = math.max(wait_ms, times[#times - limit + 1] + span_ms - now_ms)
        end
    end
    if wait_ms > 0 then
        return {4043, math.max(1, math.ceil(wait_ms / 1000))}
    end

    -- The current verification moves to its own record (unless forgotten), superseded if
    -- it was pending, and its send time joins its mode's history (unless it is of the other
    -- mode: such a hash was written before the modes had numbers of their own). One that
    -- lives in its own record already is superseded there.
    local previous, superseded = nil, false
    local prior = {}  -- the superseded pending verification's Twilio fields, by name
    if current and not packed then
        local record_key = record_prefix .. current
        local status, record_settings, service, twilio_sid, attempts = unpack(redis.call('HMGET',
            record_key, F.status, F.settings, F.service, F.twilio_sid, F.send_attempts))
        if status then
            if status == STATUS.pending then
                redis.call('HSET', record_key, F.status, STATUS.superseded)
                superseded = true
                if record_settings and unpack_settings(record_settings).e > now_ms then
                    prior = {[F.service] = service, [F.twilio_sid] = twilio_sid,
                        [F.send_attempts] = attempts}
                end
            end
            redis.call('HDEL', record_key, F.hash)
            previous = current
        end
    elseif current then
        local stored = redis.call('HGETALL', number_key)
        local record, stale = {}, {}
        for i = 1, #stored, 2 do
            local name, value = stored[i], stored[i + 1]
            if not number_fields[name] then
                stale[#stale + 1] = name
                if name == F.status and value == STATUS.pending then
                    value = STATUS.superseded
                    superseded = true
                end
                if twilio_fields[name] and current_settings.e > now_ms then
                    prior[name] = value
                end
                if name ~= F.hash then
                    record[#record + 1] = name
                    record[#record + 1] = value
                end
            end
        end
        redis.call('HDEL', number_key, F.current, unpack(stale))
        if now_ms < current_settings.gone then
            local record_key = record_prefix .. current
            redis.call('HSET', record_key, unpack(record))
            redis.call('PEXPIRE', record_key, current_settings.gone - now_ms)
            previous = current
        end
    end
    if previous and superseded then
        emit('verification.superseded', record_prefix .. previous, job_ref(record_prefix, previous))
    end
    local inline = (ttl_s + grace_s) * 1000 >= longest_ms
    if not inline then
        times[#times + 1] = now_ms
    end
    if #times > 0 then
        redis.call('HSET', number_key, times_field, table.concat(times, ' '))
    elseif stored_times then
        redis.call('HDEL', number_key, times_field)
    end

    local settings = {c = int_text(now_ms), ttl = int_text(ttl_s), g = int_text(grace_s)}
    local fields = {F.status, STATUS.pending}
    local service, twilio_sid, channel = nil, '', nil
    for i = first_field, #ARGV - 1, 2 do
        local name, value = ARGV[i], ARGV[i + 1]
        if name == F.service and value ~= '' then
            service = value
        elseif name == F.twilio_sid then
            twilio_sid = value
        elseif name == 'ch' then
            channel = value
        end
    end
    local attempts = ''
    if service then
        if not superseded or prior[F.service] ~= service or not prior[F.twilio_sid] then
            prior = {}
        end
        twilio_sid = prior[F.twilio_sid] or twilio_sid
        attempts = add_send_attempt(prior[F.send_attempts], channel)
    end
    for i = first_field, #ARGV - 1, 2 do
        local name, value = ARGV[i], ARGV[i + 1]
        if name == F.twilio_sid then
            value = twilio_sid
        end
        if request_settings[name] then
            settings[name] = value
        elseif value ~= '' then
            fields[#fields + 1] = name
            fields[#fields + 1] = value
        end
    end
    if attempts ~= '' then
        fields[#fields + 1] = F.send_attempts
        fields[#fields + 1] = attempts
    end
    fields[#fields + 1] = F.settings
    fields[#fields + 1] = pack_settings(settings)
    if previous then
        fields[#fields + 1] = F.previous
        fields[#fields + 1] = previous
    end
    local lifetime_ms = int_text((ttl_s + grace_s) * 1000)
    local key = number_key
    if inline then
        redis.call('HSET', number_key, F.current, suffix, unpack(fields))
        redis.call('PEXPIRE', number_key, lifetime_ms)
    else
        key = record_prefix .. suffix
        redis.call('HSET', key, unpack(fields))
        redis.call('PEXPIRE', key, lifetime_ms)
        redis.call('HSET', number_key, F.current, suffix)
        redis.call('PEXPIRE', number_key, int_text(longest_ms))
    end

    local job = job_ref(record_prefix, suffix)
    if mode == 'l' then
        redis.call('XADD', stream_key, '*', 'r', job)
        redis.call('ZADD', undelivered_key, now_ms, job)
    end
    local expires_ms = now_ms + ttl_s * 1000
    -- delivery/due.lua looks at the verification when its fallback timer runs out and,
    -- while events are recorded, when a sandbox step or its expiry is to be reported.
    local due_ms = nil
    if mode == 'l' and settings.fa and settings.fa ~= '' and settings.ch == 'whatsapp' and settings.fb == 'sms' then
        due_ms = now_ms + tonumber(settings.fa) * 1000
    end
    if events_stream then
        local next_ms = mode == 's' and now_ms + SANDBOX_SENT_MS or expires_ms
        due_ms = math.min(due_ms or next_ms, next_ms)
    end
    if due_ms then
        redis.call('ZADD', due_key, due_ms, job)
    end
    emit('verification.created', key, job)
    emit('message.status', key, job)

    return {0, now_ms, expires_ms, suffix, service and twilio_sid or '', attempts}
end

local function refuse()
    local code, retry_after, detail = string.match(ARGV[13], '^(%d+) (%d+) (.*)$')
    return {tonumber(code), tonumber(retry_after), detail}
end

return idempotent(KEYS[7], ARGV[9], ARGV[10], ARGV[11], ARGV[13] == '' and run or refuse, KEYS[8])
