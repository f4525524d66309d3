end
-- Batch wrapper, part 2 of 2: run every call, each in a protected call of its own.
local wdm_n = tonumber(ARGV[1])
local wdm_k, wdm_a, wdm_replies = 1, 2 * wdm_n + 2, {}
for i = 1, wdm_n do
  local nk, na = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local keys, args = {}, {}
  for j = 1, nk do
    keys[j] = KEYS[wdm_k + j - 1]
  end
  for j = 1, na do
    args[j] = ARGV[wdm_a + j - 1]
  end
  wdm_k, wdm_a = wdm_k + nk, wdm_a + na
  local ok, reply = pcall(wdm_one, keys, args)
  if not ok then
    reply = redis.error_reply(type(reply) == 'table' and reply.err or tostring(reply))
  end
  wdm_replies[i] = reply
end
return wdm_replies
