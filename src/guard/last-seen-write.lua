-- Remembers Shopify's `available` of each key (s, seen at st ms) and, where given, the `committed` read with it (c, at ct ms)
-- and what our Shopify-order claims held at the key just before that read (ch).
-- KEYS[i] = guard hash of key i (all of one shop). ARGV = ttl_seconds, only_if_unknown (1: keep an s already
-- there), now_ms, then per key i: ARGV[1 + 3i] = available, ARGV[2 + 3i] = committed or '' (none),
-- ARGV[3 + 3i] = held before the read or '' (unknown).
-- Every write renews the hash's TTL, so no hash outlives its keys.
local ttl = tonumber(ARGV[1])
local onlyIfUnknown = ARGV[2] == '1'
for i, key in ipairs(KEYS) do
  local available = ARGV[1 + 3 * i]
  local committed = ARGV[2 + 3 * i]
  local heldBefore = ARGV[3 + 3 * i]
  -- st: when s was seen (the doubt script compares it with when Shopify moved the level).
  if onlyIfUnknown then
    if redis.call('HSETNX', key, 's', available) == 1 then
      redis.call('HSET', key, 'st', ARGV[3])
    end
  else
    -- A value just seen is no longer doubted (last-seen-doubt.lua).
    redis.call('HSET', key, 's', available, 'st', ARGV[3])
    redis.call('HDEL', key, 'm')
  end
  if committed ~= '' then
    redis.call('HSET', key, 'c', committed, 'ct', ARGV[3])
    if heldBefore ~= '' then
      redis.call('HSET', key, 'ch', heldBefore)
    else
      redis.call('HDEL', key, 'ch')
    end
  end
  redis.call('EXPIRE', key, ttl)
end
return #KEYS
