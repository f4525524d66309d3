-- stock.add: adds to an item's stock.
-- (Wrapped by common/idem_prologue.lua and idem_epilogue.lua: KEYS[1], ARGV[1] are theirs.)
-- KEYS[2]: the item's hash, "item:<id>" {stock, price}
-- ARGV[2]: amount, a decimal integer in [1, 2^53]
-- Reply: {0, stock after, as a decimal string} | {2, reason} unknown item
--        | {1, reason} the stock would exceed 2^53 (nothing changes)
local stock = redis.call('HGET', KEYS[2], 'stock')
if not stock then
  return {2, 'item not found'}
end
if tonumber(ARGV[2]) > 9007199254740992 - tonumber(stock) then
  return {1, 'overflow: stock would exceed 2^53'}
end
return {0, string.format('%d', redis.call('HINCRBY', KEYS[2], 'stock', ARGV[2]))}
