-- common: the start of verifyd's function library (cmake/embed_lua.cmake), before
-- lib/record.lua. Its definitions, like those of every file of lib/, run once, when
-- Redis loads the library; each function starts with begin_call.
--
-- Time is Redis's own clock, so every replica of verifyd agrees on it. Replies of
-- every script that can refuse: {0, ...} on success, or {error_code, ...} where
-- error_code is one of the API's codes (4000, 4009, 4029, 4032, 4040–4045), with
-- retry_after second when it has one.

-- The time of the call being run: set by begin_call, read by every function of the library.
local now_ms = 0
-- The events stream of the call being run, or nil when events are not recorded
-- (lib/events.lua): reset by begin_call, so that no call inherits another's.
local events_stream = nil

-- An integer as text. Every number that a script joins to a string or passes to
-- redis.call is otherwise formatted as a double ("%.14g", "%.17g"), which costs Redis
-- two to three times as much: the hot paths (send, the guard) format their integers here.
local function int_text(n)
    return string.format('%d', n)
end

local function begin_call()
    local clock = redis.call('TIME')
    now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
    events_stream = nil
end
