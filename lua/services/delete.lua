-- services delete: removes a service of the Twilio face. Its verifications stay what
-- they are (pending ones can still be checked natively) and end with their time.
--
-- KEYS[1]  the service s:{tag}:<sid>   KEYS[2]  the account's services in creation order
-- ARGV[1]  the sid
--
-- Replies: {0}; {4040, 0} when there is no such service

if redis.call('DEL', KEYS[1]) == 0 then
    return {4040, 0}
end
redis.call('ZREM', KEYS[2], ARGV[1])
return {0}
