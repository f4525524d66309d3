-- order.checkout, step 1 (DESIGN §5): start the order's checkout saga, or join the one
-- in flight, or answer at once. Not wrapped by the idempotency wrapper: a checkout is
-- idempotent per order, and its Idempotency-Key records are written when its saga ends
-- (saga_step.lua), so a retry with the same key gets that saga's outcome.
-- KEYS[1]: the order's hash, "order:<id>"
-- KEYS[2]: this call's idempotency record, "idem:order.checkout:<key>"
-- KEYS[3]: the new saga's hash, "saga:<new id>" (used only when a saga starts)
-- KEYS[4]: the new saga's set of idempotency record keys, "saga:<new id>:keys": the keys
--   of the calls that joined it; the key of the call that started it is the saga hash's
--   field 'idem' (so a saga no one joins costs no set)
-- KEYS[5]: the in-flight index, "sagas:inflight" (zset: saga id -> lease_until)
-- ARGV[1]: the new saga's id
-- ARGV[2]: this replica's id (the saga's owner)
-- ARGV[3]: this replica's event queue (where participants answer)
-- ARGV[4]: lease, in ms: how long the owner holds the saga without renewing it
-- ARGV[5]: deadline, in ms: when the saga is aborted if it has not ended
-- Also touches the saga in flight and its key set, "saga:<id>:keys", when joining it.
-- Reply: {'FINAL', 'COMMITTED'|'ABORTED', reason}  this key's saga already ended
--      | {'NOT_FOUND'}                              no such order
--      | {'PAID'}                                   paid by an earlier checkout
--      | {'JOIN', saga id}                          a saga is in flight: wait for it
--      | {'STARTED', saga id, user, amount, item1, qty1, item2, qty2, ...}
--                                                 a saga started (or, for a repeated call,
--                                                 is still CHARGING): send its Charge
local prior = redis.call('GET', KEYS[2])
if prior then
  return cmsgpack.unpack(prior)
end
-- The whole order in one read: its fields, and its lines ("i:<item>" -> quantity).
local order, lines = {}, {}
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 2) == 'i:' then
    lines[#lines + 1] = string.sub(fields[i], 3)
    lines[#lines + 1] = fields[i + 1]
  else
    order[fields[i]] = fields[i + 1]
  end
end
if not order.user then
  return {'NOT_FOUND'}
end
if order.paid == '1' then
  return {'PAID'}
end
if order.status == 'checking_out' then
  -- The same call again (nng re-sent it, or this script re-ran after a lost reply) may
  -- have started this saga without its Charge going out: while the saga is still
  -- CHARGING, have it sent again (payment answers a duplicate from its record).
  local saga_key = 'saga:' .. order.saga
  local saga = redis.call('HMGET', saga_key, 'state', 'user', 'amount', 'idem')
  local again = saga[4] == KEYS[2]
  if not again then
    again = redis.call('SADD', saga_key .. ':keys', KEYS[2]) == 0
    redis.call('HSET', saga_key, 'joined', 1)
  end
  if again and saga[1] == 'CHARGING' then
    return {'STARTED', order.saga, saga[2], saga[3]}
  end
  return {'JOIN', order.saga}
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], 'status', 'checking_out', 'saga', ARGV[1])
redis.call('HSET', KEYS[3], 'state', 'CHARGING', 'order', string.sub(KEYS[1], 7),
           'user', order.user, 'amount', order.total, 'items', cmsgpack.pack(lines),
           'owner', ARGV[2], 'reply_to', ARGV[3], 'started', now,
           'lease_until', now + tonumber(ARGV[4]), 'deadline', now + tonumber(ARGV[5]),
           'idem', KEYS[2])
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[4]), ARGV[1])
local reply = {'STARTED', ARGV[1], order.user, order.total}
for i = 1, #lines do
  reply[#reply + 1] = lines[i]
end
return reply
