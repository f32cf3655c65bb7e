-- finish: records what one delivery attempt came to and moves the job on: done, retried
-- later, fallen back from WhatsApp to SMS, or failed. The job's stream entry is always
-- acknowledged and deleted; a retry or fallback is a new job.
--
-- KEYS[1]  the number's hash n:{tag} (lib/record.lua)
-- KEYS[2]  the verification's own record o:<job>, used once superseded
-- KEYS[3]  the delivery stream
-- KEYS[4]  the undelivered index
-- KEYS[5]  the delayed jobs, a sorted set of jobs by the time they are due
-- ARGV[1]  the consumer group
-- ARGV[2]  the stream entry id of this job
-- ARGV[3]  the job, {tag}<suffix>
-- ARGV[4]  the attempt's outcome: sent, retry or refused
-- ARGV[5]  sent: the provider's message id; otherwise the provider's error
-- ARGV[6]  retry: milliseconds until the next attempt
-- ARGV[7]  refused on WhatsApp: why (recipient_not_capable, template_not_approved, …)
-- ARGV[8]  attempts allowed per channel
--
-- Replies: {'sent'} {'retry'} {'fallback'} {'failed'}, or {'stale'} when the job had
--          already been finished by another worker

local stream_key, undelivered_key, delayed_key = KEYS[3], KEYS[4], KEYS[5]
local group, entry_id, job = ARGV[1], ARGV[2], ARGV[3]
local key, values = read_verification(KEYS[1], KEYS[2], job_suffix(job),
    {F.delivery, F.channel_in_use, F.settings})
local delivery, channel, packed = unpack(values)
local outcome, detail, delay_ms, refusal = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local max_attempts = tonumber(ARGV[8])

redis.call('XACK', stream_key, group, entry_id)
redis.call('XDEL', stream_key, entry_id)

if delivery ~= 'queued' or not packed then
    redis.call('ZREM', undelivered_key, job)
    return {'stale'}
end
local settings = unpack_settings(packed)
channel = channel or settings.ch
local fallback = settings.fb

local function close(status, fields)
    redis.call('HSET', key, F.delivery, status, unpack(fields))
    redis.call('HDEL', key, F.sealed_code)
    redis.call('ZREM', undelivered_key, job)
    return {status}
end

local function fall_back_or_fail(reason)
    if channel == 'whatsapp' and fallback == 'sms' then
        redis.call('HSET', key, F.channel_in_use, 'sms', F.fallback_reason, reason,
            F.delivery_attempts, 0, F.delivery_error, detail)
        redis.call('XADD', stream_key, '*', 'r', job)
        return {'fallback'}
    end
    return close('failed', {F.delivery_error, detail})
end

if outcome == 'sent' then
    return close('sent', {F.provider_id, detail})
end

local attempts = redis.call('HINCRBY', key, F.delivery_attempts, 1)
if outcome == 'refused' then
    return fall_back_or_fail(refusal ~= '' and refusal or 'provider_error')
end
if attempts >= max_attempts then
    return fall_back_or_fail('provider_error')
end
redis.call('HSET', key, F.delivery_error, detail)
redis.call('ZADD', delayed_key, now_ms + delay_ms, job)
return {'retry'}
