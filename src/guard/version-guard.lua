-- The version guard: one hash per (shop, sku, location) holding the newest computation that was allowed to
-- write (v, q), its write lease (lv = version, la = attempt, lx = expiry in ms) held until its Shopify call has
-- returned, and the fence (fa = the highest attempt of version v that has asked).
-- One call judges every key of a batch (all hashes of one shop, so one cluster slot: the `{shop}` hash tag).
-- KEYS[i] = hash of key i; ARGV = version, ttl_seconds, lease_ms (0 = check only, take no lease), attempt, then
-- the quantity of key i at ARGV[4 + i].
-- Returns two numbers per key, in the keys' order:
--   1, version         the write may proceed (and, with lease_ms > 0, this attempt holds or renewed the lease);
--   0, stored          a newer computation already won: drop the write;
--   2, lease_version   another attempt or an older computation still holds the lease: wait, then ask again;
--   3, fence           a newer attempt of this same computation has asked: this attempt was abandoned
--                      (Temporal retried it), so it must never send anything again.
-- An EQUAL version is let through (unlike the seed's script): it is the retry of a write whose Shopify call
-- failed after the guard had stored it, and rejecting it would lose that update. The retry carries a higher
-- attempt, which fences the older attempt off: the retry waits until the older attempt's lease is released or
-- has lapsed, and the older attempt's next renewal or pre-send check answers 3. Compare-and-swap alone cannot
-- tell these apart when both saw the same quantity (ABA), so the lease and the fence do.
local version = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])
local attempt = tonumber(ARGV[4] or '1')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}

local function judge(key, quantity)
  local h = redis.call('HMGET', key, 'v', 'fa', 'lv', 'la', 'lx')
  local stored = tonumber(h[1] or '-1')
  if stored > version then
    return 0, stored
  end
  local fence = -1
  if stored == version then
    fence = tonumber(h[2] or '-1')
    if fence > attempt then
      return 3, fence
    end
  end
  local holder = tonumber(h[3] or '-1')
  local holderAttempt = tonumber(h[4] or '1')
  local expiry = tonumber(h[5] or '0')
  local leased = holder >= 0 and expiry > now
  if leased and not (holder == version and holderAttempt == attempt) then
    if holder == version and holderAttempt < attempt then
      -- A retry while the abandoned attempt may still be alive: fence it off now, take over once it lets go.
      redis.call('HSET', key, 'fa', ARGV[4])
    end
    return 2, holder
  end
  redis.call('HSET', key, 'v', ARGV[1], 'q', quantity)
  if attempt > fence then
    redis.call('HSET', key, 'fa', ARGV[4])
  end
  if leaseMs > 0 then
    redis.call('HSET', key, 'lv', ARGV[1], 'la', ARGV[4], 'lx', tostring(now + leaseMs))
  end
  redis.call('EXPIRE', key, ttl)
  return 1, version
end

for i, key in ipairs(KEYS) do
  local code, value = judge(key, ARGV[4 + i])
  out[2 * i - 1] = code
  out[2 * i] = value
end
return out
