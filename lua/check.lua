-- check: compares a code's hash with the stored one and moves the verification on:
-- approved (spent), one more wrong attempt, or locked on the last one. One call per
-- attempt, so concurrent checks are counted exactly.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- KEYS[2]  the number's hash n:{tag} (lib/record.lua)
-- KEYS[3]  the verification's own record o:{tag}<suffix>, used once superseded
-- KEYS[4]  the events stream (lib/events.lua)
-- KEYS[5]  with an Idempotency-Key: its record r:{tag}<name> (lib/idempotency.lua)
-- ARGV[1]  requests per minute of the API key (lib/key_limit.lua)
-- ARGV[2]  the caller's account
-- ARGV[3]  keyed hashes of the presented code, 16 raw bytes each: one per hash key in
--          use (two during a rotation); the stored h likewise holds one or two
-- ARGV[4]  the verification's suffix
-- ARGV[5]  the caller's mode, "s" or "l"
-- ARGV[6]  whether events are recorded, 1/0 (lib/events.lua)
-- ARGV[7…9] fingerprint, follow, time to live (lib/idempotency.lua)
--
-- Replies: {0, status, attempts_remaining, to, country, guarded} with status
--          approved, pending or locked, country the number's ISO country (empty for
--          records without one), guarded the time the fraud guard counted the send (ms;
--          empty when it did not)
--          {4040}  unknown, another account's or mode's, approved, canceled or superseded
--          {4042}  locked by earlier wrong codes
--          {4041}  expired (answered for the grace period, then 4040)
--          {4029, retry_after}  (lib/key_limit.lua)
--          and those of lib/idempotency.lua

local account, presented, mode = ARGV[2], ARGV[3], ARGV[5]

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
            {F.account, F.status, F.settings, F.wrong, F.hash, F.to})
    local owner, status, packed, wrong, stored, to = unpack(values)
    local settings, refusal = actionable(owner, status, packed, account, mode, true)
    if not settings then
        return {refusal}
    end

    local max_attempts = tonumber(settings.mx)
    if matches(stored) then
        redis.call('HSET', key, F.status, STATUS.approved)
        redis.call('HDEL', key, F.hash)
        emit('verification.approved', key, job)
        return {0, 'approved', max_attempts - tonumber(wrong or 0), to, settings.cc,
            settings.gd}, key
    end

    wrong = redis.call('HINCRBY', key, F.wrong, 1)
    local remaining = max_attempts - wrong
    if remaining <= 0 then
        redis.call('HSET', key, F.status, STATUS.locked)
        redis.call('HDEL', key, F.hash)
        emit('verification.locked', key, job)
        return {0, 'locked', 0, to, settings.cc, settings.gd}, key
    end
    emit('verification.attempt_failed', key, job)
    return {0, 'pending', remaining, to, settings.cc, settings.gd}, key
end

return idempotent(KEYS[5], ARGV[7], ARGV[8], ARGV[9], run)
