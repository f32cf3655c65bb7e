-- cancel: ends a pending or locked verification so that later checks answer 4040.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- KEYS[2]  the number's hash n:{p}<tag> (lib/record.lua)
-- KEYS[3]  the verification's own record o:{p}<tag><suffix>, used once superseded
--          or when not inline
-- KEYS[4]  the events stream (lib/events.lua)
-- KEYS[5]  with an Idempotency-Key: its record r:{p}<tag><name> (lib/idempotency.lua)
-- KEYS[6]  on one Redis, with an Idempotency-Key: its claim i:{name}, taken in this
--          call (lib/idempotency.lua)
-- ARGV[1]  requests per minute of the API key (lib/key_limit.lua)
-- ARGV[2]  the caller's account
-- ARGV[3]  the verification's suffix
-- ARGV[4]  the caller's mode, "s" or "l"
-- ARGV[5]  whether events are recorded, 1/0 (lib/events.lua)
-- ARGV[6…8] fingerprint, follow, time to live (lib/idempotency.lua)
-- ARGV[9]  the Twilio face's service sid (without VA) the verification must have been
--          sent in, or '' for any; with one, only a pending verification is canceled
--          (a locked one is gone, as on Twilio)
-- ARGV[10] the Twilio face's VE sid (without VE) the verification must have, or ''
--
-- Replies: {0, now_ms, fields}  fields: field/value pairs (lib/record.lua readable_fields)
--          {4040}  unknown, another account's or mode's, approved, canceled or
--                  superseded, or not of the service ARGV[9] or the VE sid ARGV[10]
--          {4041}  expired (answered for the grace period, then 4040)
--          {4029, retry_after}  (lib/key_limit.lua)
--          and those of lib/idempotency.lua

local account, mode, service, wanted_sid = ARGV[2], ARGV[4], ARGV[9], ARGV[10]

local function run()
    record_events(KEYS[4], ARGV[5])
    local key, values = read_verification(KEYS[2], KEYS[3], ARGV[3],
        {F.account, F.status, F.settings, F.service, F.twilio_sid})
    local owner, status, packed, sent_in, twilio_sid = unpack(values)
    if service ~= '' and (sent_in ~= service or status ~= STATUS.pending) or
        wanted_sid ~= '' and twilio_sid ~= wanted_sid then
        return {4040}
    end
    local settings, refusal = actionable(owner, status, packed, account, mode, false)
    if not settings then
        return {refusal}
    end
    redis.call('HSET', key, F.status, STATUS.canceled)
    redis.call('HDEL', key, F.hash)
    emit('verification.canceled', key, string.sub(KEYS[3], 3))
    return {0, now_ms, readable_fields(key)}, key
end

return idempotent(KEYS[5], ARGV[6], ARGV[7], ARGV[8], run, KEYS[6])
