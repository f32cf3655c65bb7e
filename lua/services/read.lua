-- services read: one service of the Twilio face, or a page of the account's services in
-- the order they were created (lua/services/put.lua).
--
-- KEYS[1]  the account's services in creation order
-- ARGV[1]  one or page
-- ARGV[2]  one: the service's key   page: what every service's key starts with (s:{tag}:)
-- ARGV[3]  page: how many to skip   ARGV[4]  page: how many at most
--
-- Replies: {0, total, sid, parameters JSON, created ms, updated ms, …}: total is the
--          number of the account's services (page) or 1 (one)
--          {4040, 0}  one: no such service

local function service_fields(key)
    return redis.call('HMGET', key, 'p', 'c', 'u')
end

if ARGV[1] == 'one' then
    local fields = service_fields(ARGV[2])
    if not fields[1] then
        return {4040, 0}
    end
    return {0, 1, '', fields[1], tonumber(fields[2]), tonumber(fields[3])}
end
local skip, most = tonumber(ARGV[3]), tonumber(ARGV[4])
local reply = {0, redis.call('ZCARD', KEYS[1])}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], skip, skip + most - 1)) do
    local fields = service_fields(ARGV[2] .. sid)
    if fields[1] then
        reply[#reply + 1] = sid
        reply[#reply + 1] = fields[1]
        reply[#reply + 1] = tonumber(fields[2])
        reply[#reply + 1] = tonumber(fields[3])
    end
end
return reply
