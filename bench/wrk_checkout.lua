-- wrk script: checks out orders "0", "1", ... (from orders/batch_init), each once, spread
-- over wrk's threads, so every request runs a whole saga (a repeated checkout of a paid
-- order would be a cheap 200). Pass wrk's thread count after "--":
--   wrk -t2 -c64 -d30s --latency -s bench/wrk_checkout.lua http://127.0.0.1:8000 -- 2
local index = 0

function setup(thread)
  thread:set("first", index)
  index = index + 1
end

function init(args)
  next_order = first
  stride = tonumber(args[1] or "1")
end

function request()
  local path = "/orders/checkout/" .. next_order
  next_order = next_order + stride
  return wrk.format("POST", path)
end
