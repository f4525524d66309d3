-- stock.create_item: a new item with no stock and the given price.
-- (Wrapped by common/idem_prologue.lua and idem_epilogue.lua: KEYS[1], ARGV[1] are theirs.)
-- KEYS[2]: the new item's hash, "item:<id>"
-- ARGV[2]: price, a decimal integer in [0, 2^53]
-- ARGV[3]: the item's id
-- Reply: {0, id} | {3, reason} when the id is taken (never, with 128-bit random ids)
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {3, 'item id taken'}
end
redis.call('HSET', KEYS[2], 'stock', 0, 'price', ARGV[2])
return {0, ARGV[3]}
