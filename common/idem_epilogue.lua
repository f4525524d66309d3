end
-- Idempotency wrapper, part 2 of 2: record the body's reply with the effect, atomically
-- (msgpack, not JSON: Redis's cjson keeps only 14 significant digits; amounts go to 2^53).
local wdm_reply = wdm_body()
redis.call('SET', KEYS[1], cmsgpack.pack(wdm_reply), 'EX', tonumber(ARGV[1]))
return wdm_reply
