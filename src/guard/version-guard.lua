-- The version guard: one hash per (shop, sku, location) holding the newest computation that was allowed to
-- write. KEYS[1] = hash; ARGV = version, quantity, ttl_seconds.
-- Returns {1, version} when the write may proceed, {0, stored_version} when a newer computation already won.
-- Unlike the seed's script, an EQUAL version is let through: it is the retry of a write whose Shopify call
-- failed after the guard had stored it, and rejecting it would lose that update.
local stored = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
local version = tonumber(ARGV[1])
if stored > version then
  return {0, stored}
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'q', ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, version}
