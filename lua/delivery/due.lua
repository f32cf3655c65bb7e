-- due: looks at a verification whose time in the due index has come: its WhatsApp
-- message's fallback timer ran out (fallback_after_seconds without a delivery), and,
-- while events are recorded, its sandbox message reached a step (lib/sandbox.lua) or the
-- verification expired. Records what happened, and puts the verification back in the
-- index for its next time, or takes it out. Any replica may call it for any verification
-- at any time, as often as it likes: what was done is never done twice.
--
-- KEYS[1]  the number's hash n:{p}<tag> (lib/record.lua)
-- KEYS[2]  the verification's own record o:<job>, used once superseded
--          or when not inline
-- KEYS[3]  the due index
-- KEYS[4]  the delivery stream
-- KEYS[5]  the undelivered index
-- KEYS[6]  the delayed jobs
-- KEYS[7]  the events stream (lib/events.lua)
-- ARGV[1]  the job, {p}<tag><suffix>
-- ARGV[2]  whether events are recorded, 1/0
--
-- Replies: {fell_back, expired, country, channel}  fell_back and expired 1/0; the channel the
--          send asked for

local job = ARGV[1]
local due_key = KEYS[3]
local outbox = outbox_keys(KEYS[4], KEYS[5], KEYS[6])
record_events(KEYS[7], ARGV[2])
local key, values = read_verification(KEYS[1], KEYS[2], job_suffix(job),
    {F.status, F.settings, F.delivery, F.channel_in_use, F.to, F.events_cursor,
     F.expiry_reported})
local status, packed, delivery, channel, to, cursor, reported = unpack(values)
local settings = unpack_settings(packed)
if not settings or now_ms >= settings.gone then
    redis.call('ZREM', due_key, job)
    return {0, 0, '', ''}
end

local next_ms = nil
local function again_at(ms)
    if not next_ms or ms < next_ms then
        next_ms = ms
    end
end

local fell_back = 0
if settings.sb ~= '1' and settings.fa ~= '' and
    may_fall_back(status, settings, channel or settings.ch, delivery) then
    local timer_ms = tonumber(settings.c) + tonumber(settings.fa) * 1000
    if now_ms >= timer_ms then
        fall_back_to_sms(key, job, 'timeout', '', outbox)
        fell_back = 1
    else
        again_at(timer_ms)
    end
end

local expired = 0
if events_stream then
    if settings.sb == '1' then
        local steps = sandbox_steps(settings, to)
        local done = tonumber(cursor or '1')
        for i = done + 1, #steps do
            if steps[i].at > now_ms then
                again_at(steps[i].at)
                break
            end
            emit('message.status', key, job, steps[i].at)
            done = i
        end
        redis.call('HSET', key, F.events_cursor, done)
    end
    if status == STATUS.pending and not reported then
        if now_ms >= settings.e then
            redis.call('HSET', key, F.expiry_reported, 1)
            emit('verification.expired', key, job, settings.e)
            expired = 1
        else
            again_at(settings.e)
        end
    end
end

if next_ms then
    redis.call('ZADD', due_key, next_ms, job)
else
    redis.call('ZREM', due_key, job)
end
return {fell_back, expired, settings.cc, settings.ch}
