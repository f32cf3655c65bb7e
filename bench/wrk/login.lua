-- bench/wrk/login.lua: a login-like mix. Each flow is what a sandbox test of a login form
-- does: POST /verify/send to a fresh number, GET /verify/{id} to read the code
-- (data.template_variables.code), POST /verify/check with it (approved). wrk gives no
-- connection identity to request()/response(), so each answer queues the flow's next
-- step in its thread and the next free connection of that thread takes it; with no step
-- waiting a connection starts a new flow. The steady mix is one send, one read and one
-- check per flow.
-- Arguments: key=… base=N span=N keepalive=0|1
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local steps, head, tail = {}, 1, 0
local next_number
local request_headers
flows_started, codes_read, approved, unexpected = 0, 0, 0, 0
counters = {"flows_started", "codes_read", "approved", "unexpected"}

function init(args)
    parse_options(args)
    request_headers = headers()
    next_number = thread_numbers()
end

local function push(step)
    tail = tail + 1
    steps[tail] = step
end

function request()
    if head <= tail then
        local step = steps[head]
        steps[head] = nil
        head = head + 1
        if step.code then
            return wrk.format("POST", "/verify/check", request_headers,
                '{"id": "' .. step.id .. '", "code": "' .. step.code .. '"}')
        end
        return wrk.format("GET", "/verify/" .. step.id, request_headers)
    end
    flows_started = flows_started + 1
    return wrk.format("POST", "/verify/send", request_headers,
        '{"to": "' .. next_number() .. '"}')
end

function response(status, response_headers, body)
    local id = body:match('"id":"(vrf_[%w_-]+)"')
    if status == 201 and id then
        push({id = id})
    elseif status == 200 and id then
        local code = body:match('"code":"(%d+)"')
        if code then
            codes_read = codes_read + 1
            push({id = id, code = code})
        elseif body:find('"verified":true', 1, true) then
            approved = approved + 1
        else
            unexpected = unexpected + 1
        end
    else
        unexpected = unexpected + 1
    end
end
