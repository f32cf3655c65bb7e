-- sandbox: how a sandbox message is delivered. Part of the function library, after
-- lib/record.lua. Nothing is sent: the message goes through the steps a live one goes
-- through, at fixed times after its send, computed from its settings and number alone,
-- so every reader and every replica sees the same delivery without any state being
-- written. Test numbers choose the path by their last six digits (docs/API.md):
--   000102  WhatsApp cannot reach the number (CHANNEL_UNAVAILABLE): with "fallback": "sms"
--           the code goes by SMS (recipient_not_capable), else the message fails
--   000103  every channel fails after acceptance (MESSAGE_FILTERED), after a fallback if
--           one was asked for
--   000104  slow: accepted, no receipt ever; a WhatsApp send with fallback_after_seconds
--           falls back to SMS when they have passed (timeout)
--   any other: sent after 200 ms, delivered after 600 ms
-- Not for: live messages, whose delivery the outbox and the receipts record.

local SANDBOX_NOT_CAPABLE, SANDBOX_FAILING, SANDBOX_SLOW = '000102', '000103', '000104'
local SANDBOX_SENT_MS, SANDBOX_FAILED_MS, SANDBOX_DELIVERED_MS = 200, 500, 600

-- The steps of a sandbox message's delivery, oldest first: each {at, ds, ch, fr, de}
-- (time ms, delivery status, channel, fallback reason, error). Nothing happens to a
-- message once its verification has expired.
local function sandbox_steps(settings, to)
    local created = tonumber(settings.c)
    local channel = settings.ch
    local steps = {}
    local function add(at, status, step_channel, reason, error_code)
        if #steps == 0 or at < settings.e then
            steps[#steps + 1] = {at = at, ds = status, ch = step_channel, fr = reason, de = error_code}
        end
    end
    local falls_back = channel == 'whatsapp' and settings.fb == 'sms'
    -- An SMS fallback that starts at `at`, the WhatsApp error it follows kept beside it.
    local function by_sms(at, reason, whatsapp_error, fails)
        add(at, 'queued', 'sms', reason, whatsapp_error)
        add(at + SANDBOX_SENT_MS, 'sent', 'sms', reason)
        if fails then
            add(at + SANDBOX_FAILED_MS, 'failed', 'sms', reason, 'MESSAGE_FILTERED')
        else
            add(at + SANDBOX_DELIVERED_MS, 'delivered', 'sms', reason)
        end
    end

    local kind = string.sub(to or '', -6)
    add(created, 'queued', channel)
    if kind == SANDBOX_NOT_CAPABLE and channel == 'whatsapp' then
        if falls_back then
            by_sms(created + SANDBOX_SENT_MS, 'recipient_not_capable', 'CHANNEL_UNAVAILABLE')
        else
            add(created + SANDBOX_SENT_MS, 'failed', channel, nil, 'CHANNEL_UNAVAILABLE')
        end
    elseif kind == SANDBOX_FAILING then
        add(created + SANDBOX_SENT_MS, 'sent', channel)
        if falls_back then
            by_sms(created + SANDBOX_FAILED_MS, 'provider_error', 'MESSAGE_FILTERED', true)
        else
            add(created + SANDBOX_FAILED_MS, 'failed', channel, nil, 'MESSAGE_FILTERED')
        end
    elseif kind == SANDBOX_SLOW then
        add(created + SANDBOX_SENT_MS, 'sent', channel)
        if falls_back and settings.fa ~= '' then
            by_sms(created + tonumber(settings.fa) * 1000, 'timeout')
        end
    else
        add(created + SANDBOX_SENT_MS, 'sent', channel)
        add(created + SANDBOX_DELIVERED_MS, 'delivered', channel)
    end
    return steps
end

-- The index of the last step at or before `at_ms` (1 at least: the first is the send).
local function sandbox_step_index(steps, at_ms)
    local index = 1
    for i, step in ipairs(steps) do
        if step.at <= at_ms then
            index = i
        end
    end
    return index
end

add_sandbox_delivery = function(out, settings, to, at_ms)
    local steps = sandbox_steps(settings, to)
    local step = steps[sandbox_step_index(steps, at_ms)]
    local delivered_at = step.ds == 'delivered' and tostring(step.at) or nil
    for _, pair in ipairs({{F.delivery, step.ds}, {F.channel_in_use, step.ch},
                           {F.fallback_reason, step.fr}, {F.delivery_error, step.de},
                           {F.delivered_at, delivered_at}}) do
        if pair[2] then
            out[#out + 1] = pair[1]
            out[#out + 1] = pair[2]
        end
    end
end
