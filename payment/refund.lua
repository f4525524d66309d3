-- payment REFUND of a checkout saga (DESIGN §5): undoes the saga's CHARGE, once.
-- APPLIED: gives the recorded amount back to the recorded user. No record: an empty
-- compensation, so a CHARGE of this saga arriving later is REJECTED, never applied.
-- REJECTED or COMPENSATED: nothing to undo. Every case answers COMPENSATED.
-- Not wrapped by the idempotency wrapper: the saga record is the barrier.
-- KEYS[1]: the saga record, "saga:<S>:payment" (see charge.lua)
-- ARGV[1]: how long the record lives, in seconds
-- Also touches the user's credit named by the record ("user:<id>"): REFUND does not
-- carry the user, the record is where it is known.
-- Reply: {3, ''} COMPENSATED
local rec = redis.call('HMGET', KEYS[1], 'state', 'user', 'amount')
if rec[1] == 'APPLIED' then
  if tonumber(rec[3]) > 0 then
    redis.call('INCRBY', rec[2], rec[3])
  end
  redis.call('HSET', KEYS[1], 'state', 'COMPENSATED')
  redis.call('EXPIRE', KEYS[1], ARGV[1])
elseif not rec[1] then
  redis.call('HSET', KEYS[1], 'state', 'COMPENSATED')
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return {3, ''}
