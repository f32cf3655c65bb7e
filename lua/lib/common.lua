-- common: prepended to every script at build time (cmake/embed_lua.cmake), before
-- lib/record.lua.
--
-- Time is Redis's own clock, so every replica of verifyd agrees on it. Replies of
-- every script that can refuse: {0, ...} on success, or {error_code, retry_after}
-- where error_code is one of the API's codes (4029, 4040, 4041, 4042, 4043, 4044).

local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
