-- Marks each key's last-seen `available` (s) as doubtful (m = 1): Shopify moved it itself (a checkout, a
-- cancellation's restock) after we saw it. The next refresh reads the level again instead of comparing on s.
-- A key with no s is left alone: nothing is remembered, so nothing is doubted (and no hash is created).
-- KEYS[i] = guard hash of key i (all of one shop). Returns how many keys were marked.
local marked = 0
for _, key in ipairs(KEYS) do
  if redis.call('HEXISTS', key, 's') == 1 then
    redis.call('HSET', key, 'm', '1')
    marked = marked + 1
  end
end
return marked
