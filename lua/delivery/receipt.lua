-- receipt: applies a provider's delivery receipt to a live message. Receipts are applied
-- idempotently, whatever their number, order or repetition: the status only moves
-- forward (lib/delivery.lua), a receipt about another channel than the one in use (a
-- late WhatsApp receipt after the fallback) changes nothing, and a WhatsApp failure
-- falls back to SMS at most once.
--
-- KEYS[1]  the number's hash n:{p}<tag> (lib/record.lua)
-- KEYS[2]  the verification's own record o:<job>, used once superseded
--          or when not inline
-- KEYS[3]  the delivery stream
-- KEYS[4]  the undelivered index
-- KEYS[5]  the delayed jobs
-- KEYS[6]  the events stream (lib/events.lua)
-- ARGV[1]  the job, {p}<tag><suffix>
-- ARGV[2]  what the receipt says: delivered or failed (anything else moves nothing)
-- ARGV[3]  the channel of the message it is about: sms or whatsapp
-- ARGV[4]  failed: the provider's error code (may be empty)
-- ARGV[5]  failed on WhatsApp: the fallback reason its code means
-- ARGV[6]  whether events are recorded, 1/0
--
-- Replies: {'delivered', ms_since_send, channel, country}
--          {'failed', channel, country}
--          {'fallback', reason}
--          {'ignored', why}  nothing changed: final already, another channel, backwards
--          {'unknown'}  no such live message (forgotten, or a sandbox one)

local job, said, receipt_channel = ARGV[1], ARGV[2], ARGV[3]
local error_code, reason = ARGV[4], ARGV[5]
local outbox = outbox_keys(KEYS[3], KEYS[4], KEYS[5])
record_events(KEYS[6], ARGV[6])
local key, values = read_verification(KEYS[1], KEYS[2], job_suffix(job),
    {F.status, F.settings, F.delivery, F.channel_in_use})
local status, packed, delivery, channel = unpack(values)
local settings = unpack_settings(packed)
if not settings or not delivery or now_ms >= settings.gone then
    return {'unknown'}
end
channel = channel or settings.ch
if receipt_channel ~= channel then
    return {'ignored', 'about ' .. receipt_channel .. ', while the message is on ' .. channel}
end
if delivery == 'delivered' or delivery == 'failed' then
    return {'ignored', 'the message is ' .. delivery .. ' already'}
end

if said == 'delivered' then
    redis.call('HDEL', key, F.delivery_error)
    close_delivery(key, job, 'delivered', outbox, settings, channel, {F.delivered_at, now_ms})
    return {'delivered', now_ms - tonumber(settings.c), channel, settings.cc}
end
if said == 'failed' then
    if may_fall_back(status, settings, channel, delivery) then
        fall_back_to_sms(key, job, reason ~= '' and reason or 'provider_error', error_code, outbox)
        return {'fallback', reason}
    end
    close_delivery(key, job, 'failed', outbox, settings, channel, {F.delivery_error, error_code})
    return {'failed', channel, settings.cc}
end
-- Accepted: the attempt that was accepted records that itself.
return {'ignored', 'a receipt of acceptance moves nothing'}
