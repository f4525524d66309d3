-- Idempotency wrapper, part 1 of 2 (store.c puts it around every idempotent script).
-- KEYS[1]: the idempotency record of this call ("idem:<method>:<key>")
-- ARGV[1]: how long to keep the record, in seconds
-- A record present means the call was applied already: answer what it answered then.
local wdm_prior = redis.call('GET', KEYS[1])
if wdm_prior then
  return cmsgpack.unpack(wdm_prior)
end
local function wdm_body()
