-- Ends a computation attempt's write lease on each key, only where that attempt still holds it (an abandoned
-- attempt must never release the lease its retry took over).
-- KEYS[i] = guard hash of key i; ARGV[1] = version, ARGV[2] = attempt. Returns how many leases it released.
local released = 0
for _, key in ipairs(KEYS) do
  local h = redis.call('HMGET', key, 'lv', 'la')
  if h[1] == ARGV[1] and (h[2] or '1') == (ARGV[2] or '1') then
    redis.call('HDEL', key, 'lv', 'la', 'lx')
    released = released + 1
  end
end
return released
