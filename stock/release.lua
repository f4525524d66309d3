-- stock RELEASE of a checkout saga (DESIGN §5): undoes the saga's RESERVE, once.
-- APPLIED: adds back the lines the record holds (not the command's: the record is what
-- was taken). No record: an empty compensation, so a RESERVE of this saga arriving later
-- is REJECTED, never applied. REJECTED or COMPENSATED: nothing to undo. Every case
-- answers COMPENSATED. Not wrapped by the idempotency wrapper: the record is the barrier.
-- KEYS[1]: the saga record, "saga:<S>:stock" (see reserve.lua)
-- KEYS[2..n+1]: the items' hashes "item:<id>" of the command's lines, which are the
--               record's lines (the order service sends the RESERVE's lines again)
-- ARGV[1]: how long the record lives, in seconds
-- Reply: {3, ''} COMPENSATED
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'APPLIED' then
  local declared = {}
  for i = 2, #KEYS do
    declared[KEYS[i]] = true
  end
  local rec = redis.call('HGETALL', KEYS[1])
  for i = 1, #rec, 2 do
    local item = string.match(rec[i], '^line:(.+)$')
    if item then
      if not declared[item] then
        redis.log(redis.LOG_WARNING, 'saga record ' .. KEYS[1] .. ': RELEASE without ' .. item)
      end
      -- Items are never deleted; should one be gone, do not create a hash without a price.
      if redis.call('EXISTS', item) == 1 then
        redis.call('HINCRBY', item, 'stock', rec[i + 1])
      end
    end
  end
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'state', 'COMPENSATED')
  redis.call('EXPIRE', KEYS[1], ARGV[1])
elseif not state then
  redis.call('HSET', KEYS[1], 'state', 'COMPENSATED')
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return {3, ''}
