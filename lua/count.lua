-- count: counts a request against its API key's limit and nothing else, for requests
-- refused before any other script ran (invalid input), so they are limited too.
--
-- KEYS[1]  the API key's request counter (prelude)
-- ARGV[1]  requests per minute of the API key (prelude)
--
-- Replies: {0}
--          {4029, retry_after}  (prelude)

return {0}
