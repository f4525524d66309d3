#!lua flags=no-writes
-- The checkout sagas in flight, for operators and the chaos tests (order.sagas, admin.c).
-- Read-only: the no-writes flag lets it run even where the master refuses writes (no
-- replica in reach). It reads every saga in flight, so it costs O(sagas in flight) on
-- the order master: a tool to look with, not a thing to poll many times a second.
-- Times are Redis's own clock (TIME), the clock every saga script decides with.
-- A saga is stuck when its lease has expired (its owner stopped renewing it: the owner
-- died, or a command or its answer was lost) or it is past its deadline; a live
-- replica's watcher takes such a saga over within a second or so (saga_watch.c).
-- Oldest first: by 'started'; sagas without it (begun before checkout_begin.lua recorded
-- it) come before every saga with it, by deadline among themselves.
-- KEYS[1]: the in-flight index, "sagas:inflight" (zset: saga id -> lease_until)
-- ARGV[1]: how many sagas to list at most
-- Reply: {inflight, stuck, then for each listed saga: saga id, order id, state, owner,
--         age, lease left, deadline left, stuck (1 or 0)}
--        inflight and stuck count every saga in the index; times are integers, in ms:
--        age = now - started (0 when not recorded), lease left = lease_until - now and
--        deadline left = deadline - now (negative once passed; deadline left 0 when not
--        recorded). A saga whose hash is gone has state '' and the index's lease.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local index = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local sagas, stuck = {}, 0
for i = 1, #index, 2 do
  local id = index[i]
  local h = redis.call('HMGET', 'saga:' .. id, 'state', 'order', 'owner', 'started',
                       'lease_until', 'deadline')
  local started, deadline = tonumber(h[4]), tonumber(h[6])
  local lease = tonumber(h[5]) or tonumber(index[i + 1])
  -- The same tests as saga_takeover.lua's: leased while lease_until > now.
  local is_stuck = lease <= now or (deadline ~= nil and now > deadline)
  if is_stuck then
    stuck = stuck + 1
  end
  sagas[#sagas + 1] = {
    id = id, order = h[2] or '', state = h[1] or '', owner = h[3] or '',
    started = started, deadline = deadline or 0,
    age = started and now - started or 0, lease = lease - now,
    left = deadline and deadline - now or 0, stuck = is_stuck and 1 or 0,
  }
end

local function older(a, b)
  if (a.started == nil) ~= (b.started == nil) then
    return a.started == nil
  end
  local ka, kb = a.started or a.deadline, b.started or b.deadline
  if ka ~= kb then
    return ka < kb
  end
  return a.id < b.id
end
table.sort(sagas, older)

local reply = {#index / 2, stuck}
for i = 1, math.min(#sagas, tonumber(ARGV[1])) do
  local s = sagas[i]
  for _, v in ipairs({s.id, s.order, s.state, s.owner, s.age, s.lease, s.left, s.stuck}) do
    reply[#reply + 1] = v
  end
end
return reply
