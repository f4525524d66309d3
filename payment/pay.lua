-- payment.pay: takes from a user's credit, all or nothing.
-- (Wrapped by common/idem_prologue.lua and idem_epilogue.lua: KEYS[1], ARGV[1] are theirs.)
-- KEYS[2]: the user's credit, "user:<id>"
-- ARGV[2]: amount, a decimal integer in [1, 2^53]
-- Reply: {0, credit after, as a decimal string} | {2, reason} unknown user
--        | {3, reason} not enough credit (nothing changes)
local credit = redis.call('GET', KEYS[2])
if not credit then
  return {2, 'user not found'}
end
if tonumber(credit) < tonumber(ARGV[2]) then
  return {3, 'not enough credit'}
end
return {0, string.format('%d', redis.call('DECRBY', KEYS[2], ARGV[2]))}
