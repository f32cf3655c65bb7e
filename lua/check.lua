-- check: compares a code's hash with the stored one and moves the verification on:
-- approved (spent), one more wrong attempt, or locked on the last one. One call per
-- attempt, so concurrent checks are counted exactly.
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
-- ARGV[3]  keyed hashes of the presented code, 16 raw bytes each: one per hash key in
--          use (two during a rotation); the stored h likewise holds one or two
-- ARGV[4]  the verification's suffix
-- ARGV[5]  the caller's mode, "s" or "l"
-- ARGV[6]  whether events are recorded, 1/0 (lib/events.lua)
-- ARGV[7…9] fingerprint, follow, time to live (lib/idempotency.lua)
-- ARGV[10] the Twilio face's service sid (without VA) the verification must have been
--          sent in, or '' for any
-- ARGV[11] 1 to approve without a code (the Twilio face's Status=approved), else 0
-- ARGV[12] the Twilio face's VE sid (without VE) the verification must have, or ''
--
-- Replies: {0, status, attempts_remaining, to, country, guarded, channel, ve, sa} with
--          status approved, pending or locked, country the number's ISO country (empty
--          for records without one), guarded the time the fraud guard counted the send
--          (ms; empty when it did not), channel the one asked for, ve and sa the Twilio
--          face's VE sid and send attempts (lib/record.lua; empty for a native send)
--          {4040}  unknown, another account's or mode's, approved, canceled or
--                  superseded, or not of the service ARGV[10] or the VE sid ARGV[12]
--          {4042}  locked by earlier wrong codes
--          {4041}  expired (answered for the grace period, then 4040)
--          {4029, retry_after}  (lib/key_limit.lua)
--          and those of lib/idempotency.lua

local account, presented, mode = ARGV[2], ARGV[3], ARGV[5]
local service, approve, wanted_sid = ARGV[10], ARGV[11] == '1', ARGV[12]

-- Whether any 16-byte hash of `presented` equals any of `stored`, in time that depends
-- only on their lengths: every byte of every pair is compared.
local function matches(stored)
    local found = false
    for p = 1, #presented - 15, 16 do
        for s = 1, #stored - 15, 16 do
            local difference = 0
            for i = 0, 15 do
                difference = bit.bor(difference, bit.bxor(string.byte(presented, p + i),
                                                          string.byte(stored, s + i)))
            end
            found = found or difference == 0
        end
    end
    return found
end

local function run()
    record_events(KEYS[4], ARGV[6])
    local job = string.sub(KEYS[3], 3)
    local key, values =
        read_verification(KEYS[2], KEYS[3], ARGV[4],
            {F.account, F.status, F.settings, F.wrong, F.hash, F.to, F.service, F.twilio_sid,
                F.send_attempts})
    local owner, status, packed, wrong, stored, to, sent_in, twilio_sid, attempts = unpack(values)
    if service ~= '' and sent_in ~= service or wanted_sid ~= '' and twilio_sid ~= wanted_sid then
        return {4040}
    end
    local settings, refusal = actionable(owner, status, packed, account, mode, true)
    if not settings then
        return {refusal}
    end
    local function answer(outcome, remaining)
        return {0, outcome, remaining, to, settings.cc, settings.gd, settings.ch, twilio_sid or '',
            attempts or ''}, key
    end

    local max_attempts = tonumber(settings.mx)
    if approve or matches(stored) then
        redis.call('HSET', key, F.status, STATUS.approved)
        redis.call('HDEL', key, F.hash)
        emit('verification.approved', key, job)
        return answer('approved', max_attempts - tonumber(wrong or 0))
    end

    wrong = redis.call('HINCRBY', key, F.wrong, 1)
    local remaining = max_attempts - wrong
    if remaining <= 0 then
        redis.call('HSET', key, F.status, STATUS.locked)
        redis.call('HDEL', key, F.hash)
        emit('verification.locked', key, job)
        return answer('locked', 0)
    end
    emit('verification.attempt_failed', key, job)
    return answer('pending', remaining)
end

return idempotent(KEYS[5], ARGV[7], ARGV[8], ARGV[9], run, KEYS[6])
