-- order.create: a new, empty, unpaid order of a user.
-- (Wrapped by common/idem_prologue.lua and idem_epilogue.lua: KEYS[1], ARGV[1] are theirs.)
-- KEYS[2]: the new order's hash, "order:<id>"
-- ARGV[2]: the user's id (the caller checked that the user exists)
-- ARGV[3]: the order's id
-- Reply: {0, id} | {3, reason} when the id is taken (never, with 128-bit random ids)
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {3, 'order id taken'}
end
redis.call('HSET', KEYS[2], 'user', ARGV[2], 'paid', 0, 'total', 0, 'status', 'open')
return {0, ARGV[3]}
