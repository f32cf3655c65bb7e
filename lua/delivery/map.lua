-- map: remembers which message a provider's message id belongs to, so that the
-- provider's receipts (which name only its own id) find it, and hands back the receipts
-- that came before it did (delivery/lookup.lua parked them): a provider may post a
-- receipt the moment it has answered, before verifyd has written this. Kept as long as
-- the verification.
--
-- KEYS[1]  p:{<provider message id>}
-- KEYS[2]  pr:{<provider message id>}, the receipts parked for it
-- ARGV[1]  the job, {p}<tag><suffix>
-- ARGV[2]  the channel the provider accepted it on
-- ARGV[3]  milliseconds to keep it
--
-- Replies: the parked receipts, oldest first, each "<status> <error code>"

redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', tonumber(ARGV[3]))
local parked = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
return parked
