-- count: counts a request against its API key's limit and nothing else, for requests
-- refused before any other script ran (invalid input), so they are limited too.
--
-- KEYS[1]  the API key's request counter (lib/key_limit.lua)
-- ARGV[1]  requests per minute of the API key (lib/key_limit.lua)
--
-- Replies: {0}
--          {4029, retry_after}  (lib/key_limit.lua)

return {0}
