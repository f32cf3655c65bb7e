-- bench/wrk/bare.lua: drives bench/bare_handler with requests shaped like check.lua's
-- (POST, same headers, a body of the same size, each formatted once in init and cycled
-- through as check.lua cycles through its pool), so that wrk spends about the same CPU
-- per request in both and the bare handler's figure is a fair ceiling.
-- Arguments: key=… keepalive=0|1
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local requests = {}
local position = 0

function init(args)
    parse_options(args)
    local request_headers = headers()
    for n = 1, 100000 do
        local body = string.format('{"id": "vrf_%044d", "code": "000000"}', n)
        requests[n] = wrk.format("POST", "/verify/check", request_headers, body)
    end
end

function request()
    position = position % #requests + 1
    return requests[position]
end
