-- payment.add_funds: adds to a user's credit.
-- (Wrapped by common/idem_prologue.lua and idem_epilogue.lua: KEYS[1], ARGV[1] are theirs.)
-- KEYS[2]: the user's credit, "user:<id>"
-- ARGV[2]: amount, a decimal integer in [1, 2^53]
-- Reply: {0, credit after, as a decimal string} | {2, reason} unknown user
--        | {1, reason} the credit would exceed 2^53 (nothing changes)
local credit = redis.call('GET', KEYS[2])
if not credit then
  return {2, 'user not found'}
end
if tonumber(ARGV[2]) > 9007199254740992 - tonumber(credit) then
  return {1, 'overflow: credit would exceed 2^53'}
end
return {0, string.format('%d', redis.call('INCRBY', KEYS[2], ARGV[2]))}
