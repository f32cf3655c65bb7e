-- bench/wrk/check.lua: POST /verify/check against a pool of pending sandbox verifications
-- (ids one a line in the file ids=…, made by send.lua), each with a wrong but well-formed
-- code, so every request takes the full path (authentication, Redis script, hash compare,
-- one more wrong attempt) and, with VERIFYD_MAX_ATTEMPTS=100, none locks during the run.
-- Each thread starts at its own place in the pool and walks through it.
-- With idempotency=1 every request carries an Idempotency-Key of its own, so each one
-- runs (none is a replay) and leaves its claim and its kept answer in Redis.
-- With to=1 the pool holds numbers (send.lua's with service=…) and each check names its
-- number: natively {"to": …}, or with service=VA… and auth=… (common.lua) as the Twilio
-- face's POST /v2/Services/{service}/VerificationCheck form.
-- Arguments: key=… ids=FILE threads=N keepalive=0|1 [code=0000000] [rate=N per thread]
--            [idempotency=0|1] [prepared=N] [to=1 [service=VA… auth=…]]
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local ids = {}
local position
-- Every request is formatted in init, before the run: the load generator's share of the
-- machine's CPU then matches the bare handler's (bare.lua, formatted the same way) rather
-- than adding a wrk.format() per request. With idempotency=1 each request needs a key of
-- its own: the first `prepared` (default 150000, more than a 10 s run sends) are
-- formatted whole; past them a key is spliced into a formatted request.
local requests = {}
local keyed_requests = {}
local request_heads, request_tails = {}, {}
local idempotency_prefix
local sent = 0
local key_placeholder = "\0key\0"

function init(args)
    parse_options(args)
    local request_headers = headers()
    -- Seven digits: well-formed, hashed and compared like any code, and never a pool
    -- verification's six-digit code (one in a million of them would be approved by
    -- 000000 and answer 404 from then on).
    local code = options.code or "0000000"
    if options.idempotency == "1" then
        idempotency_prefix = string.format("%d-%d-", os.time(), thread_id)
        request_headers["Idempotency-Key"] = key_placeholder
    end
    for line in io.lines(options.ids) do
        if line ~= "" then ids[#ids + 1] = line end
    end
    assert(#ids > 0, "check.lua: no verification ids in " .. tostring(options.ids))
    for i, id in ipairs(ids) do
        local path, body = "/verify/check", '{"id": "' .. id .. '", "code": "' .. code .. '"}'
        if options.service then
            path = "/v2/Services/" .. options.service .. "/VerificationCheck"
            body = "To=%2B" .. id:sub(2) .. "&Code=" .. code
        elseif options.to == "1" then
            body = '{"to": "' .. id .. '", "code": "' .. code .. '"}'
        end
        local request = wrk.format("POST", path, request_headers, body)
        if idempotency_prefix then
            local at = request:find(key_placeholder, 1, true)
            request_heads[i] = request:sub(1, at - 1)
            request_tails[i] = request:sub(at + #key_placeholder)
        else
            requests[i] = request
        end
    end
    position = math.floor(#ids * thread_id / tonumber(options.threads or 1))
    if idempotency_prefix then
        local at = position
        for n = 1, tonumber(options.prepared or "150000") do
            at = at % #ids + 1
            keyed_requests[n] = request_heads[at] .. idempotency_prefix .. n .. request_tails[at]
        end
    end
    start_pacing_if_asked()
end

function request()
    position = position % #ids + 1
    if not idempotency_prefix then
        return requests[position]
    end
    sent = sent + 1
    return keyed_requests[sent]
        or request_heads[position] .. idempotency_prefix .. sent .. request_tails[position]
end
