-- The version guard: one hash per (shop, sku, location) holding the newest computation that was allowed to
-- write (v, q), and a write lease (lv, lx) held by that computation until its Shopify call has returned.
-- KEYS[1] = hash; ARGV = version, quantity, ttl_seconds, lease_ms (0 = check only, take no lease).
-- Returns {1, version} when the write may proceed, {0, stored_version} when a newer computation already won,
-- {2, lease_version} when an older computation is still writing this key (wait, then ask again).
-- Unlike the seed's script, an EQUAL version is let through: it is the retry of a write whose Shopify call
-- failed after the guard had stored it, and rejecting it would lose that update.
-- The lease closes the window between this check and the Shopify write: without it an older computation that
-- passed here first could still land its write after a newer one (compare-and-swap cannot tell when both saw
-- the same quantity).
local stored = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
local version = tonumber(ARGV[1])
if stored > version then
  return {0, stored}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local holder = tonumber(redis.call('HGET', KEYS[1], 'lv') or '-1')
local expiry = tonumber(redis.call('HGET', KEYS[1], 'lx') or '0')
if holder >= 0 and holder ~= version and expiry > now then
  return {2, holder}
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'q', ARGV[2])
if tonumber(ARGV[4]) > 0 then
  redis.call('HSET', KEYS[1], 'lv', ARGV[1], 'lx', tostring(now + tonumber(ARGV[4])))
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, version}
