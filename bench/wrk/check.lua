-- bench/wrk/check.lua: POST /verify/check against a pool of pending sandbox verifications
-- (ids one a line in the file ids=…, made by send.lua), each with a wrong but well-formed
-- code, so every request takes the full path (authentication, Redis script, hash compare,
-- one more wrong attempt) and, with VERIFYD_MAX_ATTEMPTS=100, none locks during the run.
-- Each thread starts at its own place in the pool and walks through it.
-- With idempotency=1 every request carries an Idempotency-Key of its own, so each one
-- runs (none is a replay) and leaves its claim and its kept answer in Redis.
-- Arguments: key=… ids=FILE threads=N keepalive=0|1 [code=000000] [rate=N per thread]
--            [idempotency=0|1]
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local ids = {}
local position
local request_headers
local code
local idempotency_prefix
local sent = 0

function init(args)
    parse_options(args)
    request_headers = headers()
    code = options.code or "000000"
    for line in io.lines(options.ids) do
        if line ~= "" then ids[#ids + 1] = line end
    end
    assert(#ids > 0, "check.lua: no verification ids in " .. tostring(options.ids))
    position = math.floor(#ids * thread_id / tonumber(options.threads or 1))
    if options.idempotency == "1" then
        idempotency_prefix = string.format("%d-%d-", os.time(), thread_id)
    end
    start_pacing_if_asked()
end

function request()
    position = position % #ids + 1
    local body = '{"id": "' .. ids[position] .. '", "code": "' .. code .. '"}'
    if idempotency_prefix then
        sent = sent + 1
        request_headers["Idempotency-Key"] = idempotency_prefix .. sent
    end
    return wrk.format("POST", "/verify/check", request_headers, body)
end
