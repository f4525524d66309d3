end
-- Idempotency wrapper, part 2 of 2: record the body's reply with the effect, atomically.
local wdm_reply = wdm_body()
redis.call('SET', KEYS[1], cjson.encode(wdm_reply), 'EX', tonumber(ARGV[1]))
return wdm_reply
