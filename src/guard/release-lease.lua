-- Ends a computation's write lease on a key, only if that computation still holds it.
-- KEYS[1] = guard hash; ARGV[1] = version.
if redis.call('HGET', KEYS[1], 'lv') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'lv', 'lx')
  return 1
end
return 0
