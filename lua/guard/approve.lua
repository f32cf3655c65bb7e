-- guard approve: an approved verification turns its send into a converted one, for its
-- prefix and its country, whether or not the send had settled (§10.3). Called after the
-- check that approved it, for a send the guard counted.
--
-- KEYS[1]  the prefix's counts   KEYS[2]  the country's counts (lib/guard.lua)
-- ARGV[1]  the time the send was counted at, ms (guard/admit.lua's counted_at)
-- ARGV[2]  the guard's settings (lib/guard.lua guard_begin)
--
-- Replies: {0}

guard_begin(ARGV[2], nil, '', '', '')
local sent = tonumber(ARGV[1])
count_approval(guard_target('+', KEYS[1]), sent)
count_approval(guard_target('ZZ', KEYS[2]), sent)
return {0}
