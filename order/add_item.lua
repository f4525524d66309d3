-- order.add_item: adds a quantity of an item to an order that is still open.
-- (Wrapped by common/idem_prologue.lua and idem_epilogue.lua: KEYS[1], ARGV[1] are theirs.)
-- KEYS[2]: the order's hash, "order:<id>" {user, paid, total, status, i:<item id>...}
-- ARGV[2]: the item's id
-- ARGV[3]: quantity, a decimal integer in [1, 2^53]
-- ARGV[4]: what that quantity costs (price * quantity, at most 2^53)
-- Reply: {0, total cost after, as a decimal string} | {2, reason} unknown order
--        | {3, reason} the order is paid or checking out
--        | {1, reason} the line's quantity or the total would exceed 2^53
-- The order holds one line per item: quantities of the same item are summed.
local MAX = 9007199254740992
local line = 'i:' .. ARGV[2]
local order = redis.call('HMGET', KEYS[2], 'paid', 'status', 'total', line)
if not order[3] then
  return {2, 'order not found'}
end
if order[1] == '1' then
  return {3, 'order is already paid'}
end
if order[2] == 'checking_out' then
  return {3, 'order is checking out'}
end
if tonumber(ARGV[3]) > MAX - tonumber(order[4] or 0) or
   tonumber(ARGV[4]) > MAX - tonumber(order[3]) then
  return {1, 'overflow: the order would exceed 2^53'}
end
redis.call('HINCRBY', KEYS[2], line, ARGV[3])
return {0, string.format('%d', redis.call('HINCRBY', KEYS[2], 'total', ARGV[4]))}
