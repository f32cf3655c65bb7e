-- claim: on a Redis Cluster, the first step of a request with an Idempotency-Key. The
-- key's claim lives in a hash slot of its own (the key is the account's, whatever number
-- or verification the request names), so it can tell a reused key from a retry; the
-- answer itself is kept with the state change it belongs to (lib/idempotency.lua). On one
-- Redis the change's own call takes the claim, and this script only records an answer
-- that verifyd reached without Redis (ARGV[4]).
--
-- KEYS[1]  the claim i:{name} (name: keyed hash of account, mode, endpoint and key)
-- ARGV[1]  the request's fingerprint
-- ARGV[2]  how long a claim holds, ms: past it, a retry runs as if first
-- ARGV[3]  how long the claim is kept, s (VERIFYD_IDEMPOTENCY_TTL)
-- ARGV[4]  an answer verifyd reached without Redis (a refused request), JSON; or ''
--
-- Fields: f fingerprint, l the claim's end (ms), a the answer of ARGV[4].
--
-- Replies: {0, 'run'}     run the request (with no ARGV[4]: it now holds the claim)
--          {0, 'follow'}  another request holds the claim: only replay its answer
--          {0, 'answer', json}  the answer recorded by ARGV[4] earlier: replay it
--          {4009, 0}      the key was used with another fingerprint

local claim_key, fingerprint = KEYS[1], ARGV[1]
local lease_ms, ttl_s, answer = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]

local stored_fingerprint, lease_end, stored_answer =
    unpack(redis.call('HMGET', claim_key, 'f', 'l', 'a'))
if stored_fingerprint then
    if stored_fingerprint ~= fingerprint then
        return {4009, 0}
    end
    if stored_answer then
        return {0, 'answer', stored_answer}
    end
    -- The same request again, answered by its state change's record: either way it runs.
    if answer ~= '' then
        return {0, 'run'}
    end
    if tonumber(lease_end) > now_ms then
        return {0, 'follow'}
    end
    redis.call('HSET', claim_key, 'l', now_ms + lease_ms)
    return {0, 'run'}
end

if answer ~= '' then
    redis.call('HSET', claim_key, 'f', fingerprint, 'a', answer)
else
    redis.call('HSET', claim_key, 'f', fingerprint, 'l', now_ms + lease_ms)
end
redis.call('EXPIRE', claim_key, ttl_s)
return {0, 'run'}
