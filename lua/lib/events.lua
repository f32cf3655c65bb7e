-- events: verification events, written to the events stream in the same call as the
-- change they report, so that none is lost and none reports a change that did not
-- happen. Part of the function library, after lib/sandbox.lua. A script that changes
-- state takes the stream's key and whether events are recorded (VERIFYD_EVENTS_URL set)
-- and says so with record_events before it emits; emit does nothing otherwise. The
-- dispatcher (service/events.cpp) posts the entries in order and deletes each once
-- delivered.
--
-- An entry: t the type (verification.created, message.status, …), r the verification
-- as "{p}<tag><suffix>", at the time it reports (ms), v the verification's readable fields
-- at that time as a JSON array (field, value, …): never a secret, and the code only of a
-- sandbox verification, which is test data.

local function record_events(stream_key, recorded)
    events_stream = recorded == '1' and stream_key or nil
end

-- Emits an event of `event_type` about the verification in `key`, whose job reference
-- is `ref`, as it stands at `at_ms` (default now).
local function emit(event_type, key, ref, at_ms)
    if not events_stream then
        return
    end
    local fields = readable_fields(key, at_ms)
    if not fields then
        return
    end
    redis.call('XADD', events_stream, '*', 't', event_type, 'r', ref, 'at', at_ms or now_ms,
        'v', cjson.encode(fields))
end
