-- bench/wrk/bare.lua: drives bench/bare_handler with requests shaped like check.lua's
-- (POST, same headers, a body of the same size built per request), so that wrk spends
-- about the same CPU per request in both and the bare handler's figure is a fair ceiling.
-- Arguments: key=… keepalive=0|1
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local n = 0
local request_headers

function init(args)
    parse_options(args)
    request_headers = headers()
end

function request()
    n = n + 1
    local body = string.format('{"id": "vrf_%044d", "code": "000000"}', n)
    return wrk.format("POST", "/verify/check", request_headers, body)
end
