-- guard approve: an approved verification turns its send into a converted one, for its
-- prefix and its country, whether or not the send had settled (§10.3). Called after the
-- check that approved it, for a send the guard counted.
--
-- KEYS[1]  the prefix's unsettled sends   KEYS[2]  its history
-- KEYS[3]  the country's unsettled sends  KEYS[4]  its history (lib/guard.lua)
-- ARGV[1]  the verification's suffix      ARGV[2]  its send time, ms
-- ARGV[3]  the guard's settings (lib/guard.lua guard_begin)
--
-- Replies: {0}

guard_begin(ARGV[3], nil, '', '', '')
local sent = tonumber(ARGV[2])
count_approval(guard_target('+', KEYS[1], KEYS[2]), ARGV[1], sent)
count_approval(guard_target('ZZ', KEYS[3], KEYS[4]), ARGV[1], sent)
return {0}
