// The server-side half of the shared counters: two Lua scripts, each run atomically by Redis or
// Valkey. They keep, per counter, exactly what src/limits/window.ts's SlidingLog keeps in memory
// (lua-counter.ts) and decide exactly as SlidingLog.check and policy/evaluate.ts do. KEYS come in
// pairs, one pair per counter: its entries and its amounts (lua-counter.ts says what each holds).
import { COUNTER_LUA } from "./lua-counter.ts";

/**
 * Check-and-consume, for one call or a batch of them, or peek. One call's fields: now (ms, or
 * "" for the store's own TIME), the call's id, the number of counters n, the number of limits
 * m; then per counter its amount, capacity and horizon (ms); then per limit, in the order they
 * are judged, its counter (1-based), window (ms) and max. ARGV: "consume" or "peek" then one
 * call's fields, its KEYS the n pairs of its counters; or "batch", the number of calls, then
 * each call's fields in turn, KEYS each call's pairs in turn (a counter may recur).
 *
 * consume: if the id is already in any of its counters, the call was counted by an earlier
 * run whose reply was lost: {"replayed", now}. Else every limit is judged against the stored
 * entries; the first that would be exceeded gives {"denied", now, limit, used, retryAfterMs or
 * ""} and nothing is counted (a budget's kept window sum may be brought up to date); if all
 * pass, each counter logs the call: {"allowed", now}.
 * batch: each call judged as consume, in order, each seeing what those before it counted; one
 * reply per call, in order. A call the store fails to judge (an error reply, say a key of
 * another type) gives {"error", message} and the calls after it are still judged.
 * peek: writes nothing and judges every limit: {"peek", now, then per limit: "1" if it would
 * pass else "0", used, retryAfterMs or ""}.
 */
export const CONSUME_LUA = `
local mode = ARGV[1]
local clock
-- The store's own time (ms), read once per run.
local function storeTime()
  if clock == nil then
    -- Before Redis 5, a script that read TIME could write only once it asked to replicate its effects.
    if redis.replicate_commands then redis.replicate_commands() end
    local time = redis.call('TIME')
    clock = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  end
  return clock
end
${COUNTER_LUA}
-- One call: its fields from ARGV[a] on, its counters' keys from KEYS[k + 1] on.
local function judgeCall(consuming, k, a)
  local now = tonumber(ARGV[a]) or clock
  local id, n, m = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local LIMITS = a + 3 + 3 * n
  if consuming then
    for c = 1, n do
      if redis.call('ZSCORE', KEYS[k + 2 * c - 1], id) then return {'replayed', fmt(now)} end
    end
  end
  local out = {'peek', fmt(now)}
  for l = 1, m do
    local c = tonumber(ARGV[LIMITS + 3 * l - 2])
    local amount = tonumber(ARGV[a + 1 + 3 * c])
    local ok, used, retry = judge(KEYS[k + 2 * c - 1], KEYS[k + 2 * c], now, tonumber(ARGV[LIMITS + 3 * l - 1]), tonumber(ARGV[LIMITS + 3 * l]), amount, consuming)
    local hint = retry and fmt(retry) or ''
    if consuming then
      if not ok then return {'denied', fmt(now), tostring(l), fmt(used), hint} end
    else
      out[#out + 1] = ok and '1' or '0'
      out[#out + 1] = fmt(used)
      out[#out + 1] = hint
    end
  end
  if not consuming then return out end
  for c = 1, n do
    add(KEYS[k + 2 * c - 1], KEYS[k + 2 * c], now, id, tonumber(ARGV[a + 1 + 3 * c]), tonumber(ARGV[a + 2 + 3 * c]), tonumber(ARGV[a + 3 + 3 * c]))
  end
  return {'allowed', fmt(now)}
end

if mode ~= 'batch' then
  if ARGV[2] == '' then storeTime() end
  return judgeCall(mode == 'consume', 0, 2)
end
-- Where each call's fields and keys start; the clock is read before anything is written.
local calls, k, a = {}, 0, 3
for i = 1, tonumber(ARGV[2]) do
  calls[i] = {k, a}
  if ARGV[a] == '' then storeTime() end
  local n, m = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  k, a = k + 2 * n, a + 4 + 3 * n + 3 * m
end
local out = {}
for i = 1, #calls do
  local ok, reply = pcall(judgeCall, true, calls[i][1], calls[i][2])
  if not ok then reply = {'error', type(reply) == 'table' and tostring(reply.err) or tostring(reply)} end
  out[i] = reply
end
return out
`;

/**
 * Refund: removes the entries one call added, by its id. ARGV: the id, then per counter the
 * amount the call added. An entry that absorbed older entries' amounts when the counter was
 * full keeps those under the name id.."~", so what others used stays counted and a repeated
 * refund finds nothing more to take. Returns how many entries it removed.
 */
export const REFUND_LUA = `
local id = ARGV[1]
local removed = 0
for c = 1, #KEYS / 2 do
  local key, akey = KEYS[2 * c - 1], KEYS[2 * c]
  local score = redis.call('ZSCORE', key, id)
  if score then
    local rest = (tonumber(redis.call('HGET', akey, id)) or 1) - tonumber(ARGV[1 + c])
    redis.call('ZREM', key, id)
    redis.call('HDEL', akey, id, '*sums')
    if rest > 0 then
      redis.call('ZADD', key, score, id .. '~')
      if rest ~= 1 then
        redis.call('HSET', akey, id .. '~', string.format('%.17g', rest))
        local ttl = redis.call('PTTL', key)
        if ttl > 0 then redis.call('PEXPIRE', akey, ttl) end
      end
    end
    removed = removed + 1
  end
end
return removed
`;
