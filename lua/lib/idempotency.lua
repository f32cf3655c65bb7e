-- idempotency: part of the function library (cmake/embed_lua.cmake), after key_limit, for
-- the API scripts (lua/*.lua). The scripts that change state (send, check, cancel) run
-- their change through `idempotent`, which keeps the script's reply beside the change, in
-- the same call and the same hash slot, so that no answer exists without its change or
-- the other way round.
--
-- The record r:{p}<tag><name> (name: the keyed hash of account, mode, endpoint and
-- Idempotency-Key) holds f the request's fingerprint and r the reply, msgpack-encoded.
-- Replies, besides the script's own: {'replayed', reply}  the recorded reply
--                                    {4009, 0}  the key was used for another request
--                                    {4009, 1}  its first request is still running

-- `record_key` nil: no Idempotency-Key. `follow` '1': another request holds the key's
-- claim (idempotency/claim.lua), so this one may only replay. A 4029 is not recorded:
-- its retry must run. `run` returns the reply and, when the reply names the number
-- (check's and cancel's do), the hash that holds the verification: the reply is then
-- kept no longer than that hash lives (ttl + grace), so that no number outlives its
-- verification in a kept answer, whatever VERIFYD_IDEMPOTENCY_TTL says.
local function idempotent(record_key, fingerprint, follow, ttl_s, run)
    if not record_key then
        return (run())
    end
    local stored_fingerprint, stored_reply = unpack(redis.call('HMGET', record_key, 'f', 'r'))
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
