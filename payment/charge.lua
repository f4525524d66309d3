-- payment CHARGE of a checkout saga (DESIGN §5): takes the amount from the user's credit,
-- all or nothing, once per saga. Not wrapped by the idempotency wrapper: the saga record
-- is the barrier. A record present means the saga was charged, refused or compensated
-- before: answer that again and change nothing.
-- KEYS[1]: the saga record, "saga:<S>:payment", a hash
--          {state: APPLIED|REJECTED|COMPENSATED, user: the user's key, amount, reason}
-- KEYS[2]: the user's credit, "user:<id>"
-- ARGV[1]: how long the record lives, in seconds
-- ARGV[2]: amount, a decimal integer in [0, 2^53] (0: an empty order)
-- Reply: {outcome, reason}: {1, ''} APPLIED | {2, reason} REJECTED
local rec = redis.call('HMGET', KEYS[1], 'state', 'reason')
if rec[1] == 'APPLIED' then
  return {1, ''}
elseif rec[1] == 'REJECTED' then
  return {2, rec[2] or 'rejected'}
elseif rec[1] then
  return {2, 'saga already compensated'}
end

local credit = redis.call('GET', KEYS[2])
local reason
if not credit then
  reason = 'unknown user'
elseif tonumber(credit) < tonumber(ARGV[2]) then
  reason = 'not enough credit'
end
if reason then
  redis.call('HSET', KEYS[1], 'state', 'REJECTED', 'reason', reason)
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  return {2, reason}
end

if tonumber(ARGV[2]) > 0 then
  redis.call('DECRBY', KEYS[2], ARGV[2])
end
redis.call('HSET', KEYS[1], 'state', 'APPLIED', 'user', KEYS[2], 'amount', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return {1, ''}
