-- guard release: takes back a send that guard/admit.lua counted but that was not created
-- after all (a per-number limit, a client limit or a failure refused it), so that a
-- refused send counts nothing.
--
-- KEYS[1]  the prefix's counts   KEYS[2]  the country's counts (lib/guard.lua)
-- ARGV[1]  the time the send was counted at, ms (guard/admit.lua's counted_at)
-- ARGV[2]  the guard's settings (lib/guard.lua guard_begin)
--
-- Replies: {0}

guard_begin(ARGV[2], nil, '', '', '')
local counted_at = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
    uncount_send(key, counted_at)
end
return {0}
