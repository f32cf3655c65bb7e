-- finish: records what one delivery attempt came to and moves the job on: done, retried
-- later, fallen back from WhatsApp to SMS, or failed. The job's stream entry is always
-- acknowledged and deleted; a retry or fallback is a new job.
--
-- KEYS[1]  the verification hash v:<job>
-- KEYS[2]  the delivery stream
-- KEYS[3]  the undelivered index
-- KEYS[4]  the delayed jobs, a sorted set of jobs by the time they are due
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

local verification_key, stream_key, undelivered_key, delayed_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local group, entry_id, job = ARGV[1], ARGV[2], ARGV[3]
local outcome, detail, delay_ms, refusal = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local max_attempts = tonumber(ARGV[8])

redis.call('XACK', stream_key, group, entry_id)
redis.call('XDEL', stream_key, entry_id)

local delivery, channel, fallback = unpack(redis.call('HMGET', verification_key, 'ds', 'dch', 'fb'))
if delivery ~= 'queued' then
    redis.call('ZREM', undelivered_key, job)
    return {'stale'}
end

local function close(status, fields)
    redis.call('HSET', verification_key, 'ds', status, unpack(fields))
    redis.call('HDEL', verification_key, 'sc')
    redis.call('ZREM', undelivered_key, job)
    return {status}
end

local function fall_back_or_fail(reason)
    if channel == 'whatsapp' and fallback == 'sms' then
        redis.call('HSET', verification_key, 'dch', 'sms', 'fr', reason, 'da', 0, 'de', detail)
        redis.call('XADD', stream_key, '*', 'r', job)
        return {'fallback'}
    end
    return close('failed', {'de', detail})
end

if outcome == 'sent' then
    return close('sent', {'pid', detail})
end

local attempts = redis.call('HINCRBY', verification_key, 'da', 1)
if outcome == 'refused' then
    return fall_back_or_fail(refusal ~= '' and refusal or 'provider_error')
end
if attempts >= max_attempts then
    return fall_back_or_fail('provider_error')
end
redis.call('HSET', verification_key, 'de', detail)
redis.call('ZADD', delayed_key, now_ms + delay_ms, job)
return {'retry'}
