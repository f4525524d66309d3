-- Takes over a saga whose lease expired (its owner died, or its command or answer was
-- lost), and says what to send so that it ends (DESIGN §5, orchestrator rules):
-- within its deadline, the current step's command again (participants answer repeats
-- from their records); past its deadline, the compensation that aborts it:
--   CHARGING  -> REFUNDING (a Refund before its Charge is an empty compensation, and
--                the late Charge is then rejected)
--   RESERVING -> RELEASING (Release, then Refund: saga_step.lua)
-- KEYS[1]: the saga's hash, "saga:<id>"
-- KEYS[2]: the in-flight index, "sagas:inflight" (zset: saga id -> lease_until)
-- ARGV[1]: the saga's id
-- ARGV[2]: this replica's id, ARGV[3]: its event queue (the new owner and reply_to)
-- ARGV[4]: lease, in ms
-- Reply: {'CHARGE', user, amount} | {'RESERVE'|'RELEASE', user, item1, qty1, ...}
--      | {'REFUND'}                  send that command, now as the owner
--      | {'LEASED'}                  its lease has not expired: nothing to do
--      | {'DONE'}                    it has ended (or is unknown): dropped from the index
local saga = redis.call('HMGET', KEYS[1], 'state', 'user', 'amount', 'items', 'lease_until',
                        'deadline')
local state = saga[1]
if not state or state == 'COMMITTED' or state == 'ABORTED' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {'DONE'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if tonumber(saga[5]) > now then
  return {'LEASED'}
end
local lease_until = now + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'reply_to', ARGV[3], 'lease_until', lease_until)
redis.call('ZADD', KEYS[2], lease_until, ARGV[1])
if now > tonumber(saga[6]) then
  if state == 'CHARGING' then
    state = 'REFUNDING'
  elseif state == 'RESERVING' then
    state = 'RELEASING'
  end
  redis.call('HSET', KEYS[1], 'state', state, 'reason', 'checkout timed out')
end
if state == 'CHARGING' then
  return {'CHARGE', saga[2], saga[3]}
end
if state == 'REFUNDING' then
  return {'REFUND'}
end
local reply = {state == 'RESERVING' and 'RESERVE' or 'RELEASE', saga[2]}
for _, v in ipairs(cmsgpack.unpack(saga[4])) do
  reply[#reply + 1] = v
end
return reply
