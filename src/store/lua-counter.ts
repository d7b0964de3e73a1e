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

/** Locals: what the run knows of its keys and the helpers that keep it, fmt, amountsOf, cachedSums, keepSums, shiftSums, judge, add. */
export const COUNTER_LUA = `
local CHUNK = 4000

-- What this run has learnt of its keys, so that the calls of a batch on the same counter do not
-- ask again: whether an amounts hash exists, a sorted set's size, and a TTL (ms) a key has at
-- least. Exact: every write below goes through these helpers, and no key expires mid-run. A TTL
-- set by an earlier call of the run is not set again: the key then expires up to the run's own
-- duration sooner than if every call had set it, still a whole horizon after its newest entry.
local known = {exists = {}, size = {}, ttl = {}}

local function hashExists(akey)
  local exists = known.exists[akey]
  if exists == nil then
    exists = redis.call('EXISTS', akey) == 1
    known.exists[akey] = exists
  end
  return exists
end

local function hset(akey, ...)
  -- A hash made here has no TTL yet.
  if known.exists[akey] ~= true then known.ttl[akey] = nil end
  redis.call('HSET', akey, ...)
  known.exists[akey] = true
end

-- An HDEL may empty the hash: Redis then deletes it, and its TTL with it.
local function hdel(akey, ...)
  redis.call('HDEL', akey, ...)
  known.exists[akey], known.ttl[akey] = nil, nil
end

local function zcard(key)
  local size = known.size[key]
  if size == nil then
    size = redis.call('ZCARD', key)
    known.size[key] = size
  end
  return size
end

-- After entries were removed (ZREM, ZREMRANGEBYSCORE's count): the set may be gone, TTL and all.
local function removed(key, count)
  if count == 0 then return end
  if known.size[key] then known.size[key] = known.size[key] - count end
  known.ttl[key] = nil
end

local function zadd(key, score, member)
  if (known.size[key] or 0) == 0 then known.ttl[key] = nil end
  local added = redis.call('ZADD', key, score, member)
  if known.size[key] then known.size[key] = known.size[key] + added end
end

-- Expire an existing key no sooner than ttl ms from now: another writer's longer horizon stays.
local function expireAtLeast(key, ttl)
  local least = known.ttl[key]
  if least ~= nil and least >= ttl then return end
  least = redis.call('PTTL', key)
  if least < ttl then
    redis.call('PEXPIRE', key, ttl)
    least = ttl
  end
  known.ttl[key] = least
end

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
  if #parts == 0 then hdel(akey, '*sums') else hset(akey, '*sums', table.concat(parts, '|')) end
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
  if not hashExists(akey) then
    -- Every entry counts 1: the k-th oldest in the window is found by rank.
    local used = redis.call('ZCOUNT', key, lower, '+inf')
    if used + amount <= max then return true, used end
    if amount > max then return false, used end
    local rank = zcard(key) - used + math.ceil(used + amount - max) - 1
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
  if hashExists(akey) then
    local old = redis.call('ZRANGEBYSCORE', key, '-inf', cutoff)
    for i = 1, #old, CHUNK do hdel(akey, unpack(old, i, math.min(i + CHUNK - 1, #old))) end
  end
  removed(key, redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff))
  if amount <= 0 then return end
  -- The first amount other than 1 makes the counter weighted for as long as its keys live, as
  -- the in-memory log keeps amounts from then on: the field '*' (no entry id has a '*') says so.
  if amount ~= 1 then hset(akey, '*', '1') end
  local weighted = hashExists(akey)
  local count = zcard(key)
  while count >= capacity do
    -- Full: the oldest entry's amount is folded into the next entry (or into this call's), which
    -- then expires later than it would have: that can only deny more. As in memory, a counter of
    -- calls folds too (and is weighted from then on): with capacity at the largest max that
    -- changes no decision, and a log made smaller forgets no call a window still holds.
    local oldest = redis.call('ZRANGE', key, 0, 0)[1]
    removed(key, redis.call('ZREM', key, oldest))
    count = count - 1
    if not weighted then
      hset(akey, '*', '1')
      weighted = true
    end
    do
      local carried = tonumber(redis.call('HGET', akey, oldest)) or 1
      hdel(akey, oldest)
      if count > 0 then
        local next = redis.call('ZRANGE', key, 0, 0)[1]
        hset(akey, next, fmt((tonumber(redis.call('HGET', akey, next)) or 1) + carried))
        shiftSums(akey, oldest, next)
      else
        amount = amount + carried
        hdel(akey, '*sums')
      end
    end
  end
  zadd(key, fmt(now), id)
  if amount ~= 1 then hset(akey, id, fmt(amount)) end
  -- Expire with the newest entry, never sooner than another writer's longer horizon asked.
  local ttl = math.ceil(horizonMs)
  expireAtLeast(key, ttl)
  if weighted then expireAtLeast(akey, ttl) end
end
`;
