-- stock RESERVE of a checkout saga (DESIGN §5): takes every line's quantity, all or
-- nothing, once per saga. Not wrapped by the idempotency wrapper: the saga record is the
-- barrier. A record present means the saga reserved, was refused or was compensated
-- before: answer that again and change nothing.
-- KEYS[1]: the saga record, "saga:<S>:stock", a hash {state: APPLIED|REJECTED|COMPENSATED,
--          reason, and per reserved line "line:<item key>": quantity}
-- KEYS[2..n+1]: the items' hashes, "item:<id>" {stock, price}, each item once
-- ARGV[1]: how long the record lives, in seconds
-- ARGV[2..n+1]: the quantity of KEYS[i] (same order), decimal integers in [1, 2^53]
-- Reply: {outcome, reason}: {1, ''} APPLIED | {2, reason} REJECTED
local rec = redis.call('HMGET', KEYS[1], 'state', 'reason')
if rec[1] == 'APPLIED' then
  return {1, ''}
elseif rec[1] == 'REJECTED' then
  return {2, rec[2] or 'rejected'}
elseif rec[1] then
  return {2, 'saga already compensated'}
end

local function reject(reason)
  redis.call('HSET', KEYS[1], 'state', 'REJECTED', 'reason', reason)
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  return {2, reason}
end

for i = 2, #KEYS do
  local stock = redis.call('HGET', KEYS[i], 'stock')
  if not stock then
    return reject('unknown item')
  end
  if tonumber(stock) < tonumber(ARGV[i]) then
    return reject('not enough stock')
  end
end

-- One HSET per line, not one unpack()ed HSET: unpack is limited to a few thousand values.
for i = 2, #KEYS do
  redis.call('HINCRBY', KEYS[i], 'stock', '-' .. ARGV[i])
  redis.call('HSET', KEYS[1], 'line:' .. KEYS[i], ARGV[i])
end
redis.call('HSET', KEYS[1], 'state', 'APPLIED')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return {1, ''}
