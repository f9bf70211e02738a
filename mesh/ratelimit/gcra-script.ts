// GCRA in one Lua script, on Redis's own clock (TIME), so replicas with skewed clocks share one exact
// allowance: the script reads and moves a key's theoretical arrival time atomically.

/**
 * KEYS[1]: the key's theoretical arrival time (µs on Redis's clock). ARGV: emission interval (µs per
 * unit), burst (units), cost (units). Returns {1, 0} when allowed, {0, retryAfterUs} when not.
 */
export const GCRA_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local newTat = tat + cost * interval
local allowAt = newTat - burst * interval
if allowAt > now then
  return {0, allowAt - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', newTat), 'PX', math.max(1, math.ceil((newTat - now) / 1000)))
return {1, 0}
`;
