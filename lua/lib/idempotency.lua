-- idempotency: part of the function library (cmake/embed_lua.cmake), after key_limit, for
-- the API scripts (lua/*.lua). The scripts that change state (send, check, cancel) run
-- their change through `idempotent`, which keeps the script's reply beside the change, in
-- the same call and the same hash slot, so that no answer exists without its change or
-- the other way round.
--
-- The record r:{p}<tag><name> (name: the keyed hash of account, mode, endpoint and
-- Idempotency-Key) holds f the request's fingerprint and r the reply, msgpack-encoded.
-- The key's claim i:{name} (idempotency/claim.lua) holds f the fingerprint, l the end of
-- its holder's lease (ms) and a an answer recorded without a state change. On a Redis
-- Cluster the claim is a call of its own before the change, in its own slot; on one
-- Redis the change's call takes it too (`claim_key`), which saves a round trip.
-- Replies, besides the script's own: {'replayed', reply}  the recorded reply
--                                    {'refused', json}  the claim's recorded answer
--                                    {4009, 0}  the key was used for another request
--                                    {4009, 1}  its first request is still running

-- The claim taken in the change's own call: nil to run on, with `follow` ('1' while
-- another request holds the claim) and whether the claim is new, or the reply that ends
-- the call. Taken and changed at once, the claim has no lease to wait on: its l is now.
local function claim_in_call(claim_key, fingerprint, ttl_s)
    local claimed, lease_end, answer = unpack(redis.call('HMGET', claim_key, 'f', 'l', 'a'))
    if not claimed then
        redis.call('HSET', claim_key, 'f', fingerprint, 'l', int_text(now_ms))
        redis.call('EXPIRE', claim_key, ttl_s)
        return nil, '0', true
    end
    if claimed ~= fingerprint then
        return {4009, 0}
    end
    if answer then
        return {'refused', answer}
    end
    return nil, tonumber(lease_end) > now_ms and '1' or '0', false
end

-- `record_key` nil: no Idempotency-Key. `follow` '1': another request holds the key's
-- claim (idempotency/claim.lua), so this one may only replay. `claim_key`: the claim, to
-- be taken here (nil when it was taken by a call of its own). A 4029 is not recorded:
-- its retry must run. `run` returns the reply and, when the reply names the number
-- (check's and cancel's do), the hash that holds the verification: the reply is then
-- kept no longer than that hash lives (ttl + grace), so that no number outlives its
-- verification in a kept answer, whatever VERIFYD_IDEMPOTENCY_TTL says.
local function idempotent(record_key, fingerprint, follow, ttl_s, run, claim_key)
    if not record_key then
        return (run())
    end
    local new_claim = false
    if claim_key then
        local ended
        ended, follow, new_claim = claim_in_call(claim_key, fingerprint, ttl_s)
        if ended then
            return ended
        end
    end
    -- A key claimed just now has no record to replay: a record is written with or after
    -- its key's claim and kept no longer than the claim's time to live, so one that
    -- outlives its claim (by the moments between a claim call and its change) belongs to
    -- a key that has expired.
    local stored_fingerprint, stored_reply
    if not new_claim then
        stored_fingerprint, stored_reply = unpack(redis.call('HMGET', record_key, 'f', 'r'))
    end
    if stored_fingerprint then
        if stored_fingerprint ~= fingerprint then
            return {4009, 0}
        end
        return {'replayed', cmsgpack.unpack(stored_reply)}
    end
    if follow == '1' then
        return {4009, 1}
    end
    local reply, holder = run()
    if reply[1] ~= 4029 then
        redis.call('HSET', record_key, 'f', fingerprint, 'r', cmsgpack.pack(reply))
        local keep_ms = tonumber(ttl_s) * 1000
        if holder then
            local holder_ms = redis.call('PTTL', holder)
            if holder_ms > 0 and holder_ms < keep_ms then
                keep_ms = holder_ms
            end
        end
        redis.call('PEXPIRE', record_key, keep_ms)
    end
    return reply
end
