-- services put: creates or changes a service of the Twilio face (§11) of one account.
-- A service is the parameters it was created or updated with, as Twilio names them
-- (FriendlyName, CodeLength, …): the face renders the resource from them.
--
-- KEYS[1]  the service s:{tag}:<sid>   KEYS[2]  the account's services in creation order
-- KEYS[3]  the count of services the account ever created (their order: two can share a
--          millisecond)
-- ARGV[1]  create or update   ARGV[2]  the sid
-- ARGV[3]  the parameters to set, a JSON object of strings
--
-- Fields: p the parameters (JSON), c when it was created, u when last changed (ms).
-- Replies: {0, parameters JSON, created ms, updated ms}
--          {4040, 0}  an update of a service there is not

local operation, sid = ARGV[1], ARGV[2]
local parameters, created = {}, now_ms
if operation == 'update' then
    local stored = redis.call('HMGET', KEYS[1], 'p', 'c')
    if not stored[1] then
        return {4040, 0}
    end
    parameters, created = cjson.decode(stored[1]), tonumber(stored[2])
end
for name, value in pairs(cjson.decode(ARGV[3])) do
    parameters[name] = value
end
local encoded = cjson.encode(parameters)
redis.call('HSET', KEYS[1], 'p', encoded, 'c', created, 'u', now_ms)
if operation == 'create' then
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), sid)
end
return {0, encoded, created, now_ms}
