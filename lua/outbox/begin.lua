-- begin: decides whether a delivery job is still worth delivering, and hands the worker
-- what it needs. A job whose verification is gone, spent, canceled, superseded, locked
-- or expired is dropped here: acknowledged and deleted, never sent.
--
-- KEYS[1]  the number's hash n:{p}<tag> (lib/record.lua)
-- KEYS[2]  the verification's own record o:<job>, used once superseded
--          or when not inline
-- KEYS[3]  the delivery stream
-- KEYS[4]  the undelivered index
-- KEYS[5]  the events stream (lib/events.lua)
-- ARGV[1]  the consumer group
-- ARGV[2]  the stream entry id of this job
-- ARGV[3]  the job, {p}<tag><suffix>
-- ARGV[4]  the consumer asking
-- ARGV[5]  whether events are recorded, 1/0
--
-- Replies: {'go', sealed_code, to, channel_in_use, fallback, locale, template_name,
--           template_variables, attempts_on_channel, ttl_seconds, lifetime_ms}  the
--           locale, template name and variables as stored: empty for the defaults and for
--           none; lifetime_ms how long the verification is still kept
--          {'drop', reason, channel}  reason is empty when the job was already finished
--          {'taken'}  another consumer has claimed the job meanwhile: leave it alone

local stream_key, undelivered_key = KEYS[3], KEYS[4]
local group, entry_id, job, consumer = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
record_events(KEYS[5], ARGV[5])
local key, values = read_verification(KEYS[1], KEYS[2], job_suffix(job),
    {F.status, F.delivery, F.settings, F.sealed_code, F.channel_in_use})
local status, delivery, packed, sealed, channel = unpack(values)
local settings = unpack_settings(packed)

-- A job read in a batch may have waited long enough for another replica to claim it.
-- If it is still ours, claiming it again restarts its idle time, so that nobody takes
-- it over while this attempt (shorter than the claim timeout) runs.
if #redis.call('XPENDING', stream_key, group, entry_id, entry_id, 1, consumer) == 0 then
    return {'taken'}
end
redis.call('XCLAIM', stream_key, group, consumer, 0, entry_id, 'JUSTID')

local function drop(reason)
    redis.call('XACK', stream_key, group, entry_id)
    redis.call('XDEL', stream_key, entry_id)
    redis.call('ZREM', undelivered_key, job)
    if reason ~= '' and settings then
        redis.call('HSET', key, F.delivery, 'failed', F.delivery_error, reason)
        redis.call('HDEL', key, F.sealed_code)
        emit('message.status', key, job)
    end
    return {'drop', reason, channel or settings and settings.ch or ''}
end

if not status or not packed then
    return drop('')
end
if delivery ~= 'queued' or not sealed then
    return drop('')
end
if status == STATUS.approved then
    return drop('verified before delivery')
end
if status == STATUS.canceled then
    return drop('canceled before delivery')
end
if status == STATUS.superseded then
    return drop('superseded before delivery')
end
if status == STATUS.locked then
    return drop('locked before delivery')
end
if now_ms >= settings.e then
    return drop('expired before delivery')
end

local to, locale, template_name, variables, attempts = unpack(
    redis.call('HMGET', key, F.to, F.locale, F.template, F.variables, F.delivery_attempts))
return {'go', sealed, to, channel or settings.ch, settings.fb, locale or '', template_name or '',
    variables or '', tonumber(attempts or '0'), tonumber(settings.ttl),
    math.max(1, settings.gone - now_ms)}
