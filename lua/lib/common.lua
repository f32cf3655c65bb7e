-- common: prepended to every script at build time (cmake/embed_lua.cmake).
--
-- Time is Redis's own clock, so every replica of verifyd agrees on it. Replies of
-- every script that can refuse: {0, ...} on success, or {error_code, retry_after}
-- where error_code is one of the API's codes (4029, 4040, 4041, 4042, 4043, 4044).

local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

-- Verification hash fields: a account, to number, ch channel, fb fallback, loc locale,
-- st status (p pending, a approved, l locked, c canceled, s superseded), len code length,
-- mx max attempts, n wrong attempts, c created ms, e expires ms, sb sandbox 1/0,
-- tn template name, tv template variables JSON, h code hash; delivery: ds status
-- (sandboxed, queued, sent, failed), dch channel in use, fr fallback reason, de error,
-- da attempts on the channel in use, pid the provider's message id, sc sealed code
-- (live only, deleted once delivered or dropped).

-- Everything of a verification but its code hash and sealed code, as a flat
-- field/value list.
local function readable_fields(verification_key)
    local fields = redis.call('HGETALL', verification_key)
    local out = {}
    for i = 1, #fields, 2 do
        if fields[i] ~= 'h' and fields[i] ~= 'sc' then
            out[#out + 1] = fields[i]
            out[#out + 1] = fields[i + 1]
        end
    end
    return out
end
