-- Reads where some sagas are, for the checkouts waiting on them (saga_watch.c).
-- KEYS[1..n]: saga hashes, "saga:<id>"
-- Reply: {state1, reason1, state2, reason2, ...}; '' for a saga that does not exist.
local reply = {}
for i = 1, #KEYS do
  local s = redis.call('HMGET', KEYS[i], 'state', 'reason')
  reply[#reply + 1] = s[1] or ''
  reply[#reply + 1] = s[2] or ''
end
return reply
