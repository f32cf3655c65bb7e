-- finish: records what one delivery attempt came to and moves the job on: sent, retried
-- later, fallen back from WhatsApp to SMS, or failed. The job's stream entry is always
-- acknowledged and deleted; a retry or fallback is a new job.
--
-- KEYS[1]  the number's hash n:{p}<tag> (lib/record.lua)
-- KEYS[2]  the verification's own record o:<job>, used once superseded
--          or when not inline
-- KEYS[3]  the delivery stream
-- KEYS[4]  the undelivered index
-- KEYS[5]  the delayed jobs, a sorted set of jobs by the time they are due
-- KEYS[6]  the events stream (lib/events.lua)
-- ARGV[1]  the consumer group
-- ARGV[2]  the stream entry id of this job
-- ARGV[3]  the job, {p}<tag><suffix>
-- ARGV[4]  the attempt's outcome: sent, retry or refused
-- ARGV[5]  sent: the provider's message id; otherwise the provider's error
-- ARGV[6]  retry: milliseconds until the next attempt
-- ARGV[7]  refused on WhatsApp: why (recipient_not_capable, template_not_approved, …)
-- ARGV[8]  attempts allowed per channel
-- ARGV[9]  the channel the attempt was made on
-- ARGV[10] whether events are recorded, 1/0
--
-- Replies: {'sent'}, {'retry'}, {'fallback'}, {'failed'}, or {'stale'} when the job had been finished, or its
--          message moved to another channel, meanwhile (by another worker, a receipt or
--          the fallback timer)

local group, entry_id, job = ARGV[1], ARGV[2], ARGV[3]
local outbox = outbox_keys(KEYS[3], KEYS[4], KEYS[5])
record_events(KEYS[6], ARGV[10])
local key, values = read_verification(KEYS[1], KEYS[2], job_suffix(job),
    {F.delivery, F.channel_in_use, F.settings})
local delivery, channel, packed = unpack(values)
local outcome, detail, delay_ms, refusal = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local max_attempts, attempt_channel = tonumber(ARGV[8]), ARGV[9]

redis.call('XACK', outbox.stream, group, entry_id)
redis.call('XDEL', outbox.stream, entry_id)

if delivery ~= 'queued' or not packed then
    redis.call('ZREM', outbox.undelivered, job)
    return {'stale'}
end
local settings = unpack_settings(packed)
channel = channel or settings.ch
if channel ~= attempt_channel then
    return {'stale'}
end

local function fall_back_or_fail(reason)
    if channel == 'whatsapp' and settings.fb == 'sms' then
        fall_back_to_sms(key, job, reason, detail, outbox)
        return {'fallback'}
    end
    close_delivery(key, job, 'failed', outbox, settings, channel, {F.delivery_error, detail})
    return {'failed'}
end

if outcome == 'sent' then
    close_delivery(key, job, 'sent', outbox, settings, channel, {F.provider_id, detail})
    return {'sent'}
end

local attempts = redis.call('HINCRBY', key, F.delivery_attempts, 1)
if outcome == 'refused' then
    return fall_back_or_fail(refusal ~= '' and refusal or 'provider_error')
end
if attempts >= max_attempts then
    return fall_back_or_fail('provider_error')
end
redis.call('HSET', key, F.delivery_error, detail)
redis.call('ZADD', outbox.delayed, now_ms + delay_ms, job)
return {'retry'}
