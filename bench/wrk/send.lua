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
local request_headers
local quota, ids_file
created = 0
counters = {"created"}

function init(args)
    parse_options(args)
    request_headers = headers()
    next_number = thread_numbers()
    quota = tonumber(options.count or "")
    if options.ids then ids_file = assert(io.open(options.ids .. "." .. thread_id, "w")) end
    if not quota and not ids_file then
        response = nil  -- wrk then skips parsing responses altogether
    end
    start_pacing_if_asked()
end

function request()
    if options.service then
        return wrk.format("POST", "/v2/Services/" .. options.service .. "/Verifications",
            request_headers, "To=%2B" .. next_number():sub(2) .. "&Channel=sms")
    end
    return wrk.format("POST", "/verify/send", request_headers,
        '{"to": "' .. next_number() .. '"}')
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
