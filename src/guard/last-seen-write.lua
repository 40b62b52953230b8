-- Remembers Shopify's `available` of each key (s) and, where given, the `committed` read with it (c, at ct ms).
-- KEYS[i] = guard hash of key i (all of one shop). ARGV = ttl_seconds, only_if_unknown (1: keep an s already
-- there), now_ms, then per key i: ARGV[2 + 2i] = available, ARGV[3 + 2i] = committed or '' (none).
-- Every write renews the hash's TTL, so no hash outlives its keys.
local ttl = tonumber(ARGV[1])
local onlyIfUnknown = ARGV[2] == '1'
for i, key in ipairs(KEYS) do
  local available = ARGV[2 + 2 * i]
  local committed = ARGV[3 + 2 * i]
  if onlyIfUnknown then
    redis.call('HSETNX', key, 's', available)
  else
    redis.call('HSET', key, 's', available)
  end
  if committed ~= '' then
    redis.call('HSET', key, 'c', committed, 'ct', ARGV[3])
  end
  redis.call('EXPIRE', key, ttl)
end
return #KEYS
