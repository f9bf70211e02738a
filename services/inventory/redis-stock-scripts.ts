/**
 * The Lua scripts of the Redis stock ledger. Each runs atomically in Redis, so replicas sharing one Redis
 * see every reservation as one step: check all lines, then take all (never below zero). Times come from
 * Redis's own clock (TIME), so replicas with skewed clocks agree on deadlines.
 *
 * Keys (all passed in KEYS): 1 the `available` hash and 2 the `reserved` hash (field = product id,
 * value = units), 3 the reservation's hash (key = canonical lines as JSON, state, outcome, published,
 * deadline), 4 the `pending` sorted set (member = reservation id, score = deadline in ms).
 * Quantities travel as decimal strings; results come back as JSON arrays of strings so 64-bit counts
 * are never rounded through Lua's doubles.
 */

const NOW_MS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

// Gives back every line of the reservation in KEYS[3]; returns the changes as JSON [id, available, delta, ...].
const GIVE_BACK = `
local function give_back()
  local changes = {}
  for _, line in ipairs(cjson.decode(redis.call('HGET', KEYS[3], 'key'))) do
    local a = redis.call('HINCRBY', KEYS[1], line[1], line[2])
    redis.call('HINCRBY', KEYS[2], line[1], -line[2])
    changes[#changes + 1] = line[1]
    changes[#changes + 1] = string.format('%d', a)
    changes[#changes + 1] = string.format('%d', line[2])
  end
  return cjson.encode(changes)
end
`;

// Takes every line in `lines` ({id, qty} pairs) or none. Returns nil plus the short line, or
// (levels JSON [id, available, reserved, ...], changes JSON [id, available, -qty, ...]).
const TAKE = `
local function take(lines)
  for _, line in ipairs(lines) do
    local a = redis.call('HGET', KEYS[1], line[1])
    if not a then return nil, {'not-found', line[1]} end
    if tonumber(a) < tonumber(line[2]) then return nil, {'short', line[1], tostring(line[2]), a} end
  end
  local levels, changes = {}, {}
  for _, line in ipairs(lines) do
    local q = tonumber(line[2])
    local a = redis.call('HINCRBY', KEYS[1], line[1], -q)
    local r = redis.call('HINCRBY', KEYS[2], line[1], q)
    levels[#levels + 1] = line[1]
    levels[#levels + 1] = string.format('%d', a)
    levels[#levels + 1] = string.format('%d', r)
    changes[#changes + 1] = line[1]
    changes[#changes + 1] = string.format('%d', a)
    changes[#changes + 1] = string.format('%d', -q)
  end
  return cjson.encode(levels), cjson.encode(changes)
end
`;

/**
 * ARGV: reservation id, canonical key, ttl ms, then product id / quantity pairs.
 * Returns {'fresh'|'again', levels, changes, published} or {'conflict'} / {'released-before'} /
 * {'not-found', id} / {'short', id, requested, available}.
 */
export const RESERVE = `${NOW_MS}${TAKE}
local state = redis.call('HGET', KEYS[3], 'state')
if state then
  local key = redis.call('HGET', KEYS[3], 'key')
  if key == '' then return {'released-before'} end
  if key ~= ARGV[2] then return {'conflict'} end
  local stored = redis.call('HMGET', KEYS[3], 'levels', 'changes', 'published')
  return {'again', stored[1], stored[2], stored[3]}
end
local lines = {}
for i = 4, #ARGV, 2 do lines[#lines + 1] = {ARGV[i], ARGV[i + 1]} end
local levels, changes = take(lines)
if not levels then return changes end
local deadline = now_ms() + tonumber(ARGV[3])
redis.call('HSET', KEYS[3], 'key', ARGV[2], 'state', 'pending', 'levels', levels, 'changes', changes,
  'published', '0', 'deadline', string.format('%d', deadline))
redis.call('ZADD', KEYS[4], deadline, ARGV[1])
return {'fresh', levels, changes, '0'}
`;

/** Only KEYS[1] (the reservation). Sets published = 1 if the reservation exists. */
export const MARK_PUBLISHED = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'published', '1') end
return 1
`;

/** ARGV: reservation id, retention ms. Returns {'released', changes} / {'done'} / {'unknown'} (tombstone left). */
export const RELEASE = `${GIVE_BACK}
local state = redis.call('HGET', KEYS[3], 'state')
if not state then
  redis.call('HSET', KEYS[3], 'key', '', 'state', 'released', 'published', '1')
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
  return {'unknown'}
end
if state == 'released' or state == 'expired' then return {'done'} end
local changes = give_back()
redis.call('HSET', KEYS[3], 'state', 'released')
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return {'released', changes}
`;

/** ARGV: reservation id, retention ms. Returns {'expired', changes} / {'not-due'} / {'gone'}. */
export const EXPIRE = `${NOW_MS}${GIVE_BACK}
local state = redis.call('HGET', KEYS[3], 'state')
if state ~= 'pending' then
  redis.call('ZREM', KEYS[4], ARGV[1])
  return {'gone'}
end
if tonumber(redis.call('HGET', KEYS[3], 'deadline')) > now_ms() then return {'not-due'} end
local changes = give_back()
redis.call('HSET', KEYS[3], 'state', 'expired')
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return {'expired', changes}
`;

/** ARGV: reservation id. Returns {status} or {'reclaimed', changes}. */
export const CONFIRM = `${TAKE}
local state = redis.call('HGET', KEYS[3], 'state')
if not state or redis.call('HGET', KEYS[3], 'key') == '' then return {'unknown'} end
if state == 'confirmed' then return {'already-confirmed'} end
if state == 'released' then return {'released'} end
if state == 'pending' then
  redis.call('HSET', KEYS[3], 'state', 'confirmed')
  redis.call('ZREM', KEYS[4], ARGV[1])
  return {'confirmed'}
end
local levels, changes = take(cjson.decode(redis.call('HGET', KEYS[3], 'key')))
if not levels then return {'lost'} end
redis.call('HSET', KEYS[3], 'state', 'confirmed')
redis.call('PERSIST', KEYS[3])
return {'reclaimed', changes}
`;

/** KEYS: available, reserved. ARGV: product id, quantity. Returns {available, reserved} or {'not-found'}. */
export const RESTOCK = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return {'not-found'} end
local a = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
return {string.format('%d', a), redis.call('HGET', KEYS[2], ARGV[1]) or '0'}
`;

/** KEYS: available, reserved. ARGV: product id / units pairs. Adds only unknown products; returns how many. */
export const SEED = `
local added = 0
for i = 1, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('HSETNX', KEYS[2], ARGV[i], '0')
    added = added + 1
  end
end
return added
`;
