-- Ends a computation attempt's write lease on a key, only if that attempt still holds it (an abandoned attempt
-- must never release the lease its retry took over).
-- KEYS[1] = guard hash; ARGV[1] = version, ARGV[2] = attempt.
if redis.call('HGET', KEYS[1], 'lv') == ARGV[1] and (redis.call('HGET', KEYS[1], 'la') or '1') == (ARGV[2] or '1') then
  redis.call('HDEL', KEYS[1], 'lv', 'la', 'lx')
  return 1
end
return 0
