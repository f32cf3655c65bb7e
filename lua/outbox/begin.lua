-- begin: decides whether a delivery job is still worth delivering, and hands the worker
-- what it needs. A job whose verification is gone, spent, canceled, superseded, locked
-- or expired is dropped here: acknowledged and deleted, never sent.
--
-- KEYS[1]  the verification hash v:<job>
-- KEYS[2]  the delivery stream
-- KEYS[3]  the undelivered index
-- ARGV[1]  the consumer group
-- ARGV[2]  the stream entry id of this job
-- ARGV[3]  the job, {tag}<suffix>
-- ARGV[4]  the consumer asking
--
-- Replies: {'go', sealed_code, to, channel_in_use, fallback, locale, template_name,
--           template_variables, attempts_on_channel}
--          {'drop', reason, channel}  reason is empty when the job was already finished
--          {'taken'}  another consumer has claimed the job meanwhile: leave it alone

local verification_key, stream_key, undelivered_key = KEYS[1], KEYS[2], KEYS[3]
local group, entry_id, job, consumer = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

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
    if reason ~= '' and redis.call('EXISTS', verification_key) == 1 then
        redis.call('HSET', verification_key, 'ds', 'failed', 'de', reason)
        redis.call('HDEL', verification_key, 'sc')
    end
    return {'drop', reason, redis.call('HGET', verification_key, 'dch') or ''}
end

local status, delivery, expires_ms, sealed = unpack(
    redis.call('HMGET', verification_key, 'st', 'ds', 'e', 'sc'))
if not status then
    return drop('')
end
if delivery ~= 'queued' or not sealed then
    return drop('')
end
if status == 'a' then
    return drop('verified before delivery')
end
if status == 'c' then
    return drop('canceled before delivery')
end
if status == 's' then
    return drop('superseded before delivery')
end
if status == 'l' then
    return drop('locked before delivery')
end
if now_ms >= tonumber(expires_ms) then
    return drop('expired before delivery')
end

local fields = redis.call('HMGET', verification_key, 'to', 'dch', 'fb', 'loc', 'tn', 'tv', 'da')
return {'go', sealed, fields[1], fields[2], fields[3] or '', fields[4], fields[5], fields[6],
    tonumber(fields[7] or '0')}
