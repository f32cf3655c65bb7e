-- bench/wrk/send.lua: POST /verify/send, each request to a number of its own: thread t
-- sends to numbers base + t*span, base + t*span + 1, … (wrapping after span; common.lua),
-- so no number's send history grows during a run and the per-number limits never refuse.
-- With count=N a thread stops after N created verifications (201), and with ids=PREFIX it
-- writes their ids to PREFIX.<thread> (bench/run.sh's memory measurement and check pool).
-- With service=VA… and auth=… (common.lua) it sends through the Twilio face, POST
-- /v2/Services/{service}/Verifications, and PREFIX.<thread> gets their numbers.
-- Arguments: key=… base=N span=N keepalive=0|1 [count=N] [ids=PREFIX] [rate=N per thread]
--            [service=VA… auth=…]
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local next_number
-- Every request is the same but for its number, and every number has the same length:
-- the request is formatted once in init around the first number, and each request is
-- its head, its number and its tail. A wrk.format() per request cost the load generator,
-- on the cores it shares with verifyd, 20.4 µs of CPU a send against 18.8 this way.
local request_head, request_tail
local quota, ids_file
created = 0
counters = {"created"}

function init(args)
    parse_options(args)
    local first = thread_numbers()()
    next_number = thread_numbers()
    local request
    if options.service then
        first = first:sub(2)
        request = wrk.format("POST", "/v2/Services/" .. options.service .. "/Verifications",
            headers(), "To=%2B" .. first .. "&Channel=sms")
    else
        request = wrk.format("POST", "/verify/send", headers(), '{"to": "' .. first .. '"}')
    end
    local body_at = request:find("\r\n\r\n", 1, true)
    local at = request:find(first, body_at, true)
    request_head, request_tail = request:sub(1, at - 1), request:sub(at + #first)
    quota = tonumber(options.count or "")
    if options.ids then ids_file = assert(io.open(options.ids .. "." .. thread_id, "w")) end
    if not quota and not ids_file then
        response = nil  -- wrk then skips parsing responses altogether
    end
    start_pacing_if_asked()
end

function request()
    local number = next_number()
    if options.service then number = number:sub(2) end
    return request_head .. number .. request_tail
end

function response(status, response_headers, body)
    if status ~= 201 then return end
    created = created + 1
    if ids_file then
        local id = body:match('"id":"(vrf_[%w_-]+)"') or body:match('"to":"(%+%d+)"')
        if id then ids_file:write(id, "\n") end
    end
    if quota and created >= quota then
        if ids_file then ids_file:flush() end
        wrk.thread:stop()
    end
end
