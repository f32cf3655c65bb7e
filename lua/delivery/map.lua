-- map: remembers which message a provider's message id belongs to, so that the
-- provider's receipt (which names only its own id) finds it. Written as soon as the
-- provider has answered, before outbox/finish.lua records the attempt, so that even a
-- receipt sent the moment the provider answered finds its message (delivery/receipt.lua
-- takes one that comes before the attempt is recorded); kept as long as the verification.
--
-- KEYS[1]  p:<provider message id>
-- ARGV[1]  the job, {tag}<suffix>
-- ARGV[2]  the channel the provider accepted it on
-- ARGV[3]  milliseconds to keep it
--
-- Replies: 1

redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', tonumber(ARGV[3]))
return 1
