-- record: a verification as Redis holds it, its fields and what they mean: the Lua half
-- of the record codec whose C++ half is service/verification_record.cpp (a new field is a
-- change in both). Part of the function library, after lib/common.lua. Not for: key
-- names, which the caller passes (service/redis_keys.cpp), or state transitions (the
-- scripts).
--
-- One hash per (account, number), n:{p}<tag>, holds the number's send history and
-- its current verification, so that a pending verification costs one key:
--   number fields: u the current verification's suffix, ts / tl the send times (ms,
--   oldest first) of the number's sandbox / live sends whose verification is not
--   inline (the inline one's time is its created time).
-- The hash lives as long as the longest send window needs the history, and nothing of a
-- verification may outlive its ttl + grace. So a verification is inline in n:{p}<tag> only
-- when its ttl + grace covers the longest window (the default settings); otherwise it
-- lives in a hash of its own, o:{p}<tag><suffix>, from the start. A superseded
-- verification moves to its own hash too. Every o: hash expires with its verification.
-- Fields are absent rather than empty or default, and the settings are packed into one,
-- because every field costs bytes in a pending verification (Redis keeps a hash compact
-- only while every value is at most 64 bytes). Scripts name a field only through F.

local F = {
    -- the number's own fields, in n:{p}<tag>
    current = 'u',         -- the current verification's suffix
    sandbox_times = 'ts',  -- send times (ms, oldest first) of sandbox sends not inline
    live_times = 'tl',     -- the same for live sends
    -- a verification's fields, in n:{p}<tag> while inline, else in o:{p}<tag><suffix>
    account = 'a',
    to = 'to',            -- the number
    locale = 'loc',       -- none = the default locale
    settings = 'i',       -- packed, see settings_names
    status = 'st',        -- a letter of STATUS
    wrong = 'n',          -- wrong attempts, none = 0
    hash = 'h',           -- the code's keyed hash (pending only)
    code = 'k',           -- the code (sandbox only: test data)
    template = 'tn',      -- template name, none = the default
    variables = 'tv',     -- the request's template variables as JSON, none = {}
    previous = 'p',       -- the suffix of the verification this one superseded
    delivery = 'ds',      -- live only: queued, sent, delivered or failed
    channel_in_use = 'dch',    -- none = the settings' channel
    fallback_reason = 'fr',
    delivery_error = 'de',
    delivery_attempts = 'da',  -- on the channel in use
    provider_id = 'pid',       -- the provider's message id
    sealed_code = 'sc',        -- until delivered or dropped, or, while a WhatsApp message
                               -- may still fall back to SMS, until delivered
    delivered_at = 'dat',      -- ms, from the provider's receipt
    events_cursor = 'ec',      -- sandbox: the steps whose events were recorded
    expiry_reported = 'xr',    -- 1 once verification.expired was recorded
    -- the Twilio face's (§11), on verifications sent through it only
    service = 'sv',            -- the service's sid without its VA
    twilio_sid = 've',         -- the VE sid without its VE: a resend in the same service
                               -- to a pending verification keeps that one's
    send_attempts = 'sa',      -- the VE sid's sends: the first one's ms, then one word per
                               -- send, its channel's letter (s, w) and seconds after the first
}

local STATUS = {pending = 'p', approved = 'a', locked = 'l', canceled = 'c', superseded = 's'}

-- The settings, packed into F.settings as "c ttl g sb len mx ch fb fa cc gd": created ms,
-- code lifetime s, grace after expiry s, sandbox 1/0, code length, max attempts, channel,
-- fallback, seconds after which the fallback goes out without a delivery receipt, the
-- number's ISO country (- for none), the time the fraud guard counted the send, ms (records
-- written before fa, cc and gd existed end at fb or cc).
local settings_names = {'c', 'ttl', 'g', 'sb', 'len', 'mx', 'ch', 'fb', 'fa', 'cc', 'gd'}
-- The settings a send's request gives; the script adds c, ttl and g.
local request_settings = {sb = true, len = true, mx = true, ch = true, fb = true, fa = true,
    cc = true, gd = true}

-- A delivery job names its verification "{partition}<tag><suffix>" (service/redis_keys.cpp
-- job_ref): the record key prefix "o:{partition}<tag>" without its "o:", and the suffix,
-- whose length is fixed (redis_keys.cpp kSuffixLength).
local SUFFIX_LENGTH = 22

local function job_ref(record_prefix, suffix)
    return string.sub(record_prefix, 3) .. suffix
end

local function job_suffix(job)
    return string.sub(job, -SUFFIX_LENGTH)
end

local function pack_settings(settings)
    local values = {}
    for i, name in ipairs(settings_names) do
        local value = settings[name]
        values[i] = (value == nil or value == '') and '-' or value
    end
    return table.concat(values, ' ')
end

-- The packed settings as a table, with the expiry e and the time gone after which the
-- verification is forgotten (answers as unknown); nil for nil.
local function unpack_settings(packed)
    if not packed then
        return nil
    end
    local settings, i = {}, 1
    for _, name in ipairs(settings_names) do
        settings[name] = ''
    end
    for value in string.gmatch(packed, '%S+') do
        settings[settings_names[i]] = value ~= '-' and value or ''
        i = i + 1
    end
    settings.e = tonumber(settings.c) + tonumber(settings.ttl) * 1000
    settings.gone = settings.e + tonumber(settings.g) * 1000
    return settings
end

-- The hash that holds verification `suffix` (its number's while it is the current one
-- and inline, else its own record) and the values of the named fields there. Most calls
-- are about the current verification, which one HMGET reads together with the number's
-- u and the settings i that only an inline verification puts there.
local function read_verification(number_key, record_key, suffix, names)
    local values = redis.call('HMGET', number_key, F.current, F.settings, unpack(names))
    local current = table.remove(values, 1)
    if current == suffix and table.remove(values, 1) then
        return number_key, values
    end
    return record_key, redis.call('HMGET', record_key, unpack(names))
end

-- The number's current verification: its suffix and the hash that holds it; nil when
-- the number has none.
local function current_verification(number_key, record_prefix)
    local suffix, packed = unpack(redis.call('HMGET', number_key, F.current, F.settings))
    if not suffix then
        return nil
    end
    return suffix, packed and number_key or record_prefix .. suffix
end

-- Whether unpacked settings are of a request's mode, "s" sandbox or "l" live: a request
-- sees only verifications of its own mode, as if the others did not exist.
local function of_mode(settings, mode)
    return (settings.sb == '1') == (mode == 's')
end

-- Whether a check or a cancel can act on a verification: its settings, or nil and the
-- refusal. 4040 when it is unknown, another account's or mode's, spent or forgotten;
-- 4042 when locked (if `refuse_locked`); 4041 when expired.
local function actionable(owner, status, packed, account, mode, refuse_locked)
    if not owner or owner ~= account or status ~= STATUS.pending and status ~= STATUS.locked then
        return nil, 4040
    end
    local settings = unpack_settings(packed)
    if now_ms >= settings.gone or not of_mode(settings, mode) then
        return nil, 4040
    end
    if refuse_locked and status == STATUS.locked then
        return nil, 4042
    end
    if now_ms >= settings.e then
        return nil, 4041
    end
    return settings
end

local number_fields = {[F.current] = true, [F.sandbox_times] = true, [F.live_times] = true}
local secret_fields = {[F.hash] = true, [F.sealed_code] = true}

-- Adds a sandbox message's simulated delivery to readable fields: defined by
-- lib/sandbox.lua, which the library loads after this file.
local add_sandbox_delivery

-- A verification as a flat field/value list for the reader, as it stands at `at_ms`
-- (default now): no secrets, no number fields, the settings unpacked (c, e, sb, len, mx,
-- ch, fb, fa, cc) and, for a sandbox verification, its simulated delivery at that time
-- (lib/sandbox.lua); nil when there is none or it is forgotten.
local function readable_fields(key, at_ms)
    local fields = redis.call('HGETALL', key)
    local out, settings = {}, nil
    for i = 1, #fields, 2 do
        local name, value = fields[i], fields[i + 1]
        if name == F.settings then
            settings = unpack_settings(value)
        elseif not number_fields[name] and not secret_fields[name] then
            out[#out + 1] = name
            out[#out + 1] = value
        end
    end
    if not settings or now_ms >= settings.gone then
        return nil
    end
    for _, name in ipairs({'c', 'e', 'sb', 'len', 'mx', 'ch', 'fb', 'fa', 'cc'}) do
        out[#out + 1] = name
        out[#out + 1] = tostring(settings[name])
    end
    if settings.sb == '1' then
        local to = nil
        for i = 1, #out, 2 do
            if out[i] == F.to then
                to = out[i + 1]
            end
        end
        add_sandbox_delivery(out, settings, to, at_ms or now_ms)
    end
    return out
end
