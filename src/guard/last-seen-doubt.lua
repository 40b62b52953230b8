-- Marks each key's last-seen `available` (s) as doubtful (m = 1) when it may have been seen before Shopify moved it
-- itself (a checkout, a cancellation's restock): seen before ARGV[1] (epoch ms), or at an unknown time. The next
-- refresh reads such a key again instead of comparing on s. A key seen after that moment is left alone (its s
-- already holds the move), and so is a key with no s: nothing is remembered, so nothing is doubted (and no hash is
-- created).
-- KEYS[i] = guard hash of key i (all of one shop). ARGV[1] = the moment (ms). Returns how many keys were marked.
local before = tonumber(ARGV[1])
local marked = 0
for _, key in ipairs(KEYS) do
  local seen = redis.call('HMGET', key, 's', 'st')
  if seen[1] and (not seen[2] or tonumber(seen[2]) < before) then
    redis.call('HSET', key, 'm', '1')
    marked = marked + 1
  end
end
return marked
