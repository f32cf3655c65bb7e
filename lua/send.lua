-- send: refuses by per-number limits, supersedes the number's pending verification,
-- creates the new one and, for a live send, enqueues its delivery job, all at once so
-- replicas cannot race past a limit and an accepted send always has its job.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- KEYS[2]  the number's state hash n:{tag}: cur (current verification suffix),
--          msgs (suffixes, newest first), ts:s / ts:l (send times in ms, sandbox / live)
-- KEYS[3]  the new verification hash v:{tag}<suffix>
-- KEYS[4]  the delivery stream (live sends add their job, field r = {tag}<suffix>)
-- KEYS[5]  the undelivered index, a sorted set of {tag}<suffix> by creation time
-- ARGV[1]  requests per minute of the API key (lib/key_limit.lua)
-- ARGV[2]  mode: "s" sandbox or "l" live (limits are counted apart)
-- ARGV[3]  send windows, "COUNT/SECONDS,COUNT/SECONDS"
-- ARGV[4]  resend cooldown in seconds (0 = none)
-- ARGV[5]  time to live of the code in seconds
-- ARGV[6]  grace in seconds during which an expired verification still answers 4041
-- ARGV[7]  the verification key prefix v:{tag}
-- ARGV[8]  the new verification's suffix
-- ARGV[9…] field, value pairs stored into the new verification as given (a live one
--          holds its sealed code in sc)
--
-- Replies: {0, created_ms, expires_ms}
--          {4043, retry_after}  a window or the cooldown refuses; nothing is counted
--          {4029, retry_after}  (lib/key_limit.lua)

local number_key, verification_key, stream_key, undelivered_key = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local mode, windows_spec = ARGV[2], ARGV[3]
local cooldown_ms = tonumber(ARGV[4]) * 1000
local ttl_ms, grace_ms = tonumber(ARGV[5]) * 1000, tonumber(ARGV[6]) * 1000
local prefix, suffix = ARGV[7], ARGV[8]
local max_messages = 100

local windows, longest_ms = {}, cooldown_ms
for count, seconds in string.gmatch(windows_spec, '(%d+)/(%d+)') do
    windows[#windows + 1] = {tonumber(count), tonumber(seconds) * 1000}
    longest_ms = math.max(longest_ms, tonumber(seconds) * 1000)
end

-- Send times within the longest window, oldest first.
local times_field = 'ts:' .. mode
local times = {}
for t in string.gmatch(redis.call('HGET', number_key, times_field) or '', '%d+') do
    if tonumber(t) > now_ms - longest_ms then
        times[#times + 1] = tonumber(t)
    end
end

local wait_ms = 0
if cooldown_ms > 0 and #times > 0 then
    wait_ms = math.max(wait_ms, times[#times] + cooldown_ms - now_ms)
end
for _, window in ipairs(windows) do
    local limit, span_ms = window[1], window[2]
    local in_window = 0
    for _, t in ipairs(times) do
        if t > now_ms - span_ms then
            in_window = in_window + 1
        end
    end
    if in_window >= limit then
        -- The send becomes possible when the limit-th newest send leaves the window.
        wait_ms = math.max(wait_ms, times[#times - limit + 1] + span_ms - now_ms)
    end
end
if wait_ms > 0 then
    return {4043, math.max(1, math.ceil(wait_ms / 1000))}
end

local current = redis.call('HGET', number_key, 'cur')
if current then
    local previous_key = prefix .. current
    if redis.call('HGET', previous_key, 'st') == 'p' then
        redis.call('HSET', previous_key, 'st', 's')
    end
end

local expires_ms = now_ms + ttl_ms
redis.call('HSET', verification_key, 'st', 'p', 'n', 0, 'c', now_ms, 'e', expires_ms,
    unpack(ARGV, 9))
redis.call('PEXPIRE', verification_key, ttl_ms + grace_ms)
if mode == 'l' then
    local job = string.sub(prefix, 3) .. suffix
    redis.call('XADD', stream_key, '*', 'r', job)
    redis.call('ZADD', undelivered_key, now_ms, job)
end

times[#times + 1] = now_ms
local messages = suffix
local kept = 1
for previous in string.gmatch(redis.call('HGET', number_key, 'msgs') or '', '%S+') do
    if kept >= max_messages then
        break
    end
    messages = messages .. ' ' .. previous
    kept = kept + 1
end
redis.call('HSET', number_key, times_field, table.concat(times, ' '), 'cur', suffix,
    'msgs', messages)
local keep_ms = math.max(longest_ms, ttl_ms + grace_ms, redis.call('PTTL', number_key))
redis.call('PEXPIRE', number_key, keep_ms)

return {0, now_ms, expires_ms}
