-- The checkout saga's state machine (DESIGN §5), one transition per participant event.
-- Every transition is a compare-and-set on the saga's state, so a duplicate or stale
-- event changes nothing.
--   CHARGING  --charge APPLIED-->      RESERVING  (send RESERVE)
--   CHARGING  --charge REJECTED-->     ABORTED    (nothing was taken)
--   RESERVING --reserve APPLIED-->     COMMITTED  (the order is paid)
--   RESERVING --reserve REJECTED-->    REFUNDING  (send REFUND)
--   REFUNDING --refund COMPENSATED-->  ABORTED
--   RELEASING --release COMPENSATED--> REFUNDING  (send REFUND; past the deadline only,
--                                                  see saga_takeover.lua)
-- Every transition that leaves the saga in flight renews its lease.
-- An event that already moved the saga (the same event again, or this script re-run
-- after a lost reply or a WAIT timeout) asks for the command of the state it led to once
-- more: a re-sent command is answered from the participant's record, a lost one would
-- leave the saga stuck.
-- When the saga ends, the order leaves "checking_out" (paid or not) and every
-- idempotency record of the checkouts that waited for it gets the outcome.
-- KEYS[1]: the saga's hash, "saga:<id>"
-- KEYS[2]: its set of the idempotency record keys of the calls that joined it,
--   "saga:<id>:keys" (there when its field 'joined' is; the first call's key is its
--   field 'idem')
-- KEYS[3]: the in-flight index, "sagas:inflight" (zset: saga id -> lease_until)
-- ARGV[1]: the event's command kind: CHARGE | RESERVE | REFUND | RELEASE
-- ARGV[2]: the event's outcome: APPLIED | REJECTED | COMPENSATED
-- ARGV[3]: the event's reason (for REJECTED)
-- ARGV[4]: how long an ended saga and its idempotency records are kept, in seconds
-- ARGV[5]: the saga's id
-- ARGV[6]: lease, in ms
-- Also touches the saga's order hash, "order:<id>", and the idempotency records.
-- Reply: {'RESERVE', user, item1, qty1, ...} | {'REFUND'}   send that command next
--      | {'FINAL', 'COMMITTED'|'ABORTED', reason, 'NEW'}    this event ended the saga
--      | {'FINAL', 'COMMITTED'|'ABORTED', reason}           it had ended before
--      | {'IGNORED', state}                                  stale event, or no such saga
local saga = redis.call('HMGET', KEYS[1], 'state', 'order', 'reason', 'user', 'items', 'idem',
                        'joined')
local state, kind, outcome = saga[1], ARGV[1], ARGV[2]
if not state then
  return {'IGNORED', ''}
end

local function finish(final, reason)
  local answer = {'FINAL', final, reason}
  local packed = cmsgpack.pack(answer)
  local ttl = tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], 'state', final, 'reason', reason)
  if final == 'COMMITTED' then
    redis.call('HSET', 'order:' .. saga[2], 'status', 'open', 'paid', 1)
  else
    redis.call('HSET', 'order:' .. saga[2], 'status', 'open')
  end
  if saga[6] then
    redis.call('SET', saga[6], packed, 'EX', ttl)
  end
  if saga[7] or not saga[6] then -- joined, or begun before the first key had its field
    for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do
      redis.call('SET', key, packed, 'EX', ttl)
    end
    redis.call('DEL', KEYS[2])
  end
  redis.call('ZREM', KEYS[3], ARGV[5])
  redis.call('EXPIRE', KEYS[1], ttl)
  return {'FINAL', final, reason, 'NEW'}
end

-- Moves the saga to `next` and renews its lease (its owner is making progress).
local function advance(next, reason)
  local t = redis.call('TIME')
  local lease_until = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[6])
  if reason then
    redis.call('HSET', KEYS[1], 'state', next, 'lease_until', lease_until, 'reason', reason)
  else
    redis.call('HSET', KEYS[1], 'state', next, 'lease_until', lease_until)
  end
  redis.call('ZADD', KEYS[3], lease_until, ARGV[5])
end

if state == 'COMMITTED' or state == 'ABORTED' then
  return {'FINAL', state, saga[3] or ''}
end
local function reserve()
  local reply = {'RESERVE', saga[4]}
  for _, v in ipairs(cmsgpack.unpack(saga[5])) do
    reply[#reply + 1] = v
  end
  return reply
end

if kind == 'CHARGE' and outcome == 'APPLIED' and state == 'RESERVING' then
  return reserve()
end
if (kind == 'RESERVE' and outcome == 'REJECTED' or kind == 'RELEASE') and state == 'REFUNDING' then
  return {'REFUND'}
end
if state == 'CHARGING' and kind == 'CHARGE' then
  if outcome == 'APPLIED' then
    advance('RESERVING')
    return reserve()
  end
  return finish('ABORTED', ARGV[3])
end
if state == 'RESERVING' and kind == 'RESERVE' then
  if outcome == 'APPLIED' then
    return finish('COMMITTED', '')
  end
  advance('REFUNDING', ARGV[3])
  return {'REFUND'}
end
if state == 'RELEASING' and kind == 'RELEASE' then
  advance('REFUNDING')
  return {'REFUND'}
end
if state == 'REFUNDING' and kind == 'REFUND' then
  return finish('ABORTED', saga[3] or '')
end
return {'IGNORED', state}
