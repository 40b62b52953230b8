-- Shopify's last-seen `available` (s), the `committed` reading kept with it (c, read at ct ms, when our
-- Shopify-order claims held ch units just before), and whether Shopify has moved s since (m), of each key.
-- KEYS[i] = guard hash of key i (all of one shop). Returns {s, c, ct, ch, m} per key, in the keys' order (nil where unset).
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('HMGET', key, 's', 'c', 'ct', 'ch', 'm')
end
return out
