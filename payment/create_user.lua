-- payment.create_user: a new user with credit 0.
-- (Wrapped by common/idem_prologue.lua and idem_epilogue.lua: KEYS[1], ARGV[1] are theirs.)
-- KEYS[2]: the new user's credit, "user:<id>"
-- ARGV[2]: the user's id
-- Reply: {0, id} | {3, reason} when the id is taken (never, with 128-bit random ids)
if not redis.call('SET', KEYS[2], 0, 'NX') then
  return {3, 'user id taken'}
end
return {0, ARGV[2]}
