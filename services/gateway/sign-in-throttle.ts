import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { redisCall, slotPrefix } from "../../mesh/redis/index.ts";
import { defineScript, requireKeyPrefix, ShopOptionsError } from "../shared/index.ts";

/** Options of {@link createSignInThrottle}. */
export interface SignInThrottleOptions {
  /** Shared counters, so every gateway replica sees the same failures. Default: this process only (a bounded map). */
  readonly redis?: Redis;
  /** Prefix of every Redis key, e.g. "weft:gateway:". Required with `redis`. */
  readonly keyPrefix?: string;
  /** Failed sign-ins allowed per account and per client address; the next one is refused. Default 5. */
  readonly maxFailures?: number;
  /** How long failures count, from the first, and so the longest lockout, in ms. Default 900,000 (15 minutes). */
  readonly windowMs?: number;
  /** In memory: most counters kept (the oldest go first). Default 100,000. */
  readonly maxKeys?: number;
}

/** Counts sign-in attempts per account and per client address; see {@link createSignInThrottle}. */
export interface SignInThrottle {
  /**
   * Starts an attempt: 0 when it may go ahead (it now counts as a failure until `succeeded`), or the
   * milliseconds until the account or address may try again.
   */
  begin(account: string, address: string | undefined): Promise<number>;
  /** The attempt succeeded: the account's failures are forgotten and the address gets its attempt back. */
  succeeded(account: string, address: string | undefined): Promise<void>;
  /** The attempt ended for another reason than the password (identity unavailable, a malformed request): both get it back. */
  abandoned(account: string, address: string | undefined): Promise<void>;
}

// KEYS: the counters. ARGV: max, window ms. Refuses with the longest wait when one counter is full,
// otherwise counts the attempt on every counter (the first count starts its window).
const BEGIN = `
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[1]) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then redis.call('PEXPIRE', key, ARGV[2]) ttl = tonumber(ARGV[2]) end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[2]) end
end
return 0
`;

// KEYS[1]: the account counter, KEYS[2] (optional): the address counter.
const SUCCEEDED = `
redis.call('DEL', KEYS[1])
if KEYS[2] and tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 0
`;

// KEYS: the counters. Gives each its attempt back.
const ABANDONED = `
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
`;

/**
 * Brute-force protection for sign-in: at most `maxFailures` failed attempts per account (any address)
 * and per client address (any account) in a window. An attempt counts when it starts, so concurrent
 * guesses cannot slip past the limit. Unknown accounts count like real ones, so a lockout tells nothing.
 * Keys are digests of the normalized email and the address (bounded length), each with a TTL.
 */
export function createSignInThrottle(options: SignInThrottleOptions = {}): SignInThrottle {
  const maxFailures = options.maxFailures ?? 5;
  const windowMs = options.windowMs ?? 900_000;
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isInteger(maxFailures) || maxFailures < 1) throw new ShopOptionsError("options.maxFailures must be a positive integer");
  if (!Number.isInteger(windowMs) || windowMs < 1) throw new ShopOptionsError("options.windowMs must be a positive integer (ms)");
  if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new ShopOptionsError("options.maxKeys must be a positive integer");
  const digest = (kind: string, value: string) => `${kind}:${createHash("sha256").update(value).digest("base64url").slice(0, 22)}`;
  const keysOf = (account: string, address: string | undefined) => [
    digest("account", account.trim().toLowerCase()),
    ...(address === undefined || address === "" ? [] : [digest("address", address)]),
  ];

  const { redis } = options;
  if (redis !== undefined) {
    // One Cluster slot: a script touches an account's counter and an address's together.
    const prefix = slotPrefix(`${requireKeyPrefix(options.keyPrefix)}sign-in:`);
    const begin = defineScript(redis, "weftGatewaySignInBegin", BEGIN, 1);
    const beginBoth = defineScript(redis, "weftGatewaySignInBegin2", BEGIN, 2);
    const done = defineScript(redis, "weftGatewaySignInDone", SUCCEEDED, 1);
    const doneBoth = defineScript(redis, "weftGatewaySignInDone2", SUCCEEDED, 2);
    const abandon = defineScript(redis, "weftGatewaySignInAbandon", ABANDONED, 1);
    const abandonBoth = defineScript(redis, "weftGatewaySignInAbandon2", ABANDONED, 2);
    const STORE = "sign-in throttle";
    return {
      async begin(account, address) {
        const keys = keysOf(account, address).map((k) => prefix + k);
        return Number(await redisCall(STORE, () => (keys.length === 2 ? beginBoth : begin)(keys, [maxFailures, windowMs])));
      },
      async succeeded(account, address) {
        const keys = keysOf(account, address).map((k) => prefix + k);
        await redisCall(STORE, () => (keys.length === 2 ? doneBoth : done)(keys, []));
      },
      async abandoned(account, address) {
        const keys = keysOf(account, address).map((k) => prefix + k);
        await redisCall(STORE, () => (keys.length === 2 ? abandonBoth : abandon)(keys, []));
      },
    };
  }

  const counters = new Map<string, { count: number; expiresAt: number }>();
  const live = (key: string, now: number) => {
    const entry = counters.get(key);
    if (entry !== undefined && entry.expiresAt <= now) counters.delete(key);
    return entry !== undefined && entry.expiresAt > now ? entry : undefined;
  };
  return {
    async begin(account, address) {
      const now = Date.now();
      const keys = keysOf(account, address);
      let wait = 0;
      for (const key of keys) {
        const entry = live(key, now);
        if (entry !== undefined && entry.count >= maxFailures) wait = Math.max(wait, entry.expiresAt - now);
      }
      if (wait > 0) return wait;
      for (const key of keys) {
        const entry = live(key, now);
        if (entry !== undefined) entry.count++;
        else {
          // Bounded: the oldest counter makes room (Map keeps insertion order).
          if (counters.size >= maxKeys) counters.delete(counters.keys().next().value!);
          counters.set(key, { count: 1, expiresAt: now + windowMs });
        }
      }
      return 0;
    },
    async succeeded(account, address) {
      const [accountKey, addressKey] = keysOf(account, address);
      counters.delete(accountKey);
      const entry = addressKey === undefined ? undefined : live(addressKey, Date.now());
      if (entry !== undefined && entry.count > 0) entry.count--;
    },
    async abandoned(account, address) {
      const now = Date.now();
      for (const key of keysOf(account, address)) {
        const entry = live(key, now);
        if (entry !== undefined && entry.count > 0) entry.count--;
      }
    },
  };
}
