-- delivery: the moves of a live message's delivery that several scripts make (the
-- outbox's finish, a provider's receipt, the fallback timer): closing it, and taking a
-- WhatsApp message to SMS. Part of the function library, after lib/guard.lua. Every
-- move records its message.status event.
--
-- A message's delivery status (F.delivery) only moves forward: queued → sent →
-- delivered, or failed; delivered and failed are final. A fallback starts SMS over at
-- queued, once: only a message whose channel in use is still WhatsApp can fall back.

-- The outbox's keys, as the scripts that move a message get them.
local function outbox_keys(stream_key, undelivered_key, delayed_key)
    return {stream = stream_key, undelivered = undelivered_key, delayed = delayed_key}
end

-- Ends the message's delivery as `status` (sent, delivered or failed) with more fields.
-- The sealed code stays only while a WhatsApp message that was sent may still fall back.
local function close_delivery(key, job, status, outbox, settings, channel, fields)
    redis.call('HSET', key, F.delivery, status, unpack(fields))
    local may_fall_back = status == 'sent' and channel == 'whatsapp' and settings.fb == 'sms'
    if not may_fall_back then
        redis.call('HDEL', key, F.sealed_code)
    end
    redis.call('ZREM', outbox.undelivered, job)
    emit('message.status', key, job)
end

-- Whether a message may fall back to SMS now: asked for, still on WhatsApp and not
-- delivered, its verification pending and unexpired.
local function may_fall_back(status, settings, channel, delivery)
    return settings.fb == 'sms' and channel == 'whatsapp' and delivery ~= 'delivered' and
               status == STATUS.pending and now_ms < settings.e
end

-- Queues the message again on SMS, for `reason`, keeping the WhatsApp error beside it.
-- A WhatsApp retry still waiting is dropped; one in flight finds the channel changed.
local function fall_back_to_sms(key, job, reason, whatsapp_error, outbox)
    redis.call('HSET', key, F.delivery, 'queued', F.channel_in_use, 'sms', F.fallback_reason,
        reason, F.delivery_attempts, 0)
    if whatsapp_error ~= '' then
        redis.call('HSET', key, F.delivery_error, whatsapp_error)
    end
    redis.call('ZREM', outbox.delayed, job)
    redis.call('XADD', outbox.stream, '*', 'r', job)
    redis.call('ZADD', outbox.undelivered, 'NX', now_ms, job)
    emit('message.status', key, job)
end
