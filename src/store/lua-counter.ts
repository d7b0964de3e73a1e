// The per-counter half of CONSUME_LUA (lua.ts): judging one limit against a counter's stored
// entries, and logging a call in a counter, exactly as src/limits/window.ts's SlidingLog does in
// memory. Lua source, defined as locals ahead of the script's main part; the time (now), the
// call's id and whether the call is being counted (consuming) are passed in, as one script run
// judges a whole batch of calls.
//
// - A counter is two keys: its entries, a sorted set (score: time in ms, member: the id of the
//   call that added it), and its amounts, a hash (id -> amount) holding only amounts other than
//   1, made when the first such amount is logged: a counter of plain calls never has one, as the
//   in-memory log keeps amounts only once a budget logs one. The hash also holds '*' (it exists)
//   and '*sums' (kept window sums); no entry id has a '*'.
// - Numbers cross the boundary as strings: "%.17g" round-trips a double exactly, where Lua's
//   tostring and Redis's integer replies would round or truncate it.

/** Locals: fmt, amountsOf, cachedSums, keepSums, shiftSums, judge, add. */
export const COUNTER_LUA = `
local CHUNK = 4000

local function fmt(x) return string.format('%.17g', x) end

-- Amounts of ids (missing: 1), in order; HMGET in chunks, as unpack has a stack limit (8000).
local function amountsOf(akey, ids)
  local out = {}
  for i = 1, #ids, CHUNK do
    local part = redis.call('HMGET', akey, unpack(ids, i, math.min(i + CHUNK - 1, #ids)))
    for j = 1, #part do out[#out + 1] = part[j] and tonumber(part[j]) or 1 end
  end
  return out
end

-- A budget's window sums, kept in its amounts hash under '*sums' (no entry id has a '*'): per
-- window, the first and last entry summed, how many entries that is, and their sum. A sum is
-- used only while its window starts at the same entry and holds the same entries up to its
-- last (later ones are added to it); a refund drops them all.
local function cachedSums(akey)
  local sums = {}
  local raw = redis.call('HGET', akey, '*sums')
  if raw then
    for w, first, last, count, sum in string.gmatch(raw, '([^ |]+) ([^ |]+) ([^ |]+) ([^ |]+) ([^ |]+)') do
      sums[w] = {first, last, tonumber(count), tonumber(sum)}
    end
  end
  return sums
end

local function keepSums(akey, sums)
  local parts = {}
  for w, s in pairs(sums) do parts[#parts + 1] = table.concat({w, s[1], s[2], s[3], fmt(s[4])}, ' ') end
  if #parts == 0 then redis.call('HDEL', akey, '*sums') else redis.call('HSET', akey, '*sums', table.concat(parts, '|')) end
end

-- After the oldest entry was folded into the next: a window that started at the oldest now
-- starts at the next with the very same sum (a + b is b + a, exactly, and the rest is added
-- alike), so a full log does not sum its window afresh on every call; a window that started at
-- the next, or held only the oldest, loses its sum.
local function shiftSums(akey, oldest, next)
  local sums = cachedSums(akey)
  for w, s in pairs(sums) do
    if s[1] == oldest and s[3] >= 2 then
      s[1], s[3] = next, s[3] - 1
    elseif s[1] == oldest or s[1] == next then
      sums[w] = nil
    end
  end
  keepSums(akey, sums)
end

-- SlidingLog.check: the amount used in the window ending now and, when amount does not fit,
-- the milliseconds until enough of the oldest entries have left (nil if it never can fit).
local function judge(key, akey, now, windowMs, max, amount, consuming)
  local lower = '(' .. fmt(now - windowMs)
  if redis.call('EXISTS', akey) == 0 then
    -- Every entry counts 1: the k-th oldest in the window is found by rank.
    local used = redis.call('ZCOUNT', key, lower, '+inf')
    if used + amount <= max then return true, used end
    if amount > max then return false, used end
    local rank = redis.call('ZCARD', key) - used + math.ceil(used + amount - max) - 1
    local hit = redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')
    return false, used, math.max(1, tonumber(hit[2]) + windowMs - now)
  end
  -- A budget: the sum of its window's amounts, oldest first as the in-memory log sums them, so
  -- fractions round alike. Summing afresh reads the whole window, so the sum is kept (see
  -- cachedSums) and carried on over entries added since, while the window starts at the same entry.
  local first = redis.call('ZRANGEBYSCORE', key, lower, '+inf', 'LIMIT', 0, 1)[1]
  if not first then
    if amount <= max then return true, 0 end
    return false, 0
  end
  local firstRank = redis.call('ZRANK', key, first)
  local sums = cachedSums(akey)
  local w = fmt(windowMs)
  local cached = sums[w]
  local from, used, count = firstRank, 0, 0
  if cached and cached[1] == first then
    local lastRank = redis.call('ZRANK', key, cached[2])
    if lastRank and lastRank - firstRank + 1 == cached[3] then from, used, count = lastRank + 1, cached[4], cached[3] end
  end
  local ids = redis.call('ZRANGE', key, from, -1)
  local amounts = amountsOf(akey, ids)
  for i = 1, #amounts do used = used + amounts[i] end
  if consuming and (#ids > 0 or from == firstRank) then
    sums[w] = {first, ids[#ids] or cached[2], count + #ids, used}
    keepSums(akey, sums)
  end
  if used + amount <= max then return true, used end
  if amount > max then return false, used end
  -- Walk the oldest entries in the window until enough would have expired.
  local excess = used + amount - max
  for rank = firstRank, firstRank + count + #ids - 1, 256 do
    local part = redis.call('ZRANGE', key, rank, rank + 255)
    local partAmounts = amountsOf(akey, part)
    for i = 1, #partAmounts do
      excess = excess - partAmounts[i]
      if excess <= 0 then return false, used, math.max(1, tonumber(redis.call('ZSCORE', key, part[i])) + windowMs - now) end
    end
  end
  return false, used
end

-- SlidingLog.add: drop entries no window can see, make room within capacity, log the call.
local function add(key, akey, now, id, amount, capacity, horizonMs)
  local cutoff = fmt(now - horizonMs)
  if redis.call('EXISTS', akey) == 1 then
    local old = redis.call('ZRANGEBYSCORE', key, '-inf', cutoff)
    for i = 1, #old, CHUNK do redis.call('HDEL', akey, unpack(old, i, math.min(i + CHUNK - 1, #old))) end
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
  if amount <= 0 then return end
  -- The first amount other than 1 makes the counter weighted for as long as its keys live, as
  -- the in-memory log keeps amounts from then on: the field '*' (no entry id has a '*') says so.
  if amount ~= 1 then redis.call('HSET', akey, '*', '1') end
  local weighted = redis.call('EXISTS', akey) == 1
  local count = redis.call('ZCARD', key)
  while count >= capacity do
    -- Full: the oldest entry's amount is folded into the next entry (or into this call's), which
    -- then expires later than it would have: that can only deny more. As in memory, a counter of
    -- calls folds too (and is weighted from then on): with capacity at the largest max that
    -- changes no decision, and a log made smaller forgets no call a window still holds.
    local oldest = redis.call('ZRANGE', key, 0, 0)[1]
    redis.call('ZREM', key, oldest)
    count = count - 1
    if not weighted then
      redis.call('HSET', akey, '*', '1')
      weighted = true
    end
    do
      local carried = tonumber(redis.call('HGET', akey, oldest)) or 1
      redis.call('HDEL', akey, oldest)
      if count > 0 then
        local next = redis.call('ZRANGE', key, 0, 0)[1]
        redis.call('HSET', akey, next, fmt((tonumber(redis.call('HGET', akey, next)) or 1) + carried))
        shiftSums(akey, oldest, next)
      else
        amount = amount + carried
        redis.call('HDEL', akey, '*sums')
      end
    end
  end
  redis.call('ZADD', key, fmt(now), id)
  if amount ~= 1 then redis.call('HSET', akey, id, fmt(amount)) end
  -- Expire with the newest entry, never sooner than another writer's longer horizon asked.
  local ttl = math.ceil(horizonMs)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
  if weighted and redis.call('PTTL', akey) < ttl then redis.call('PEXPIRE', akey, ttl) end
end
`;
