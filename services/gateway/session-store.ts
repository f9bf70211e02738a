import { createHash, randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { redisCall } from "../../mesh/redis/index.ts";
import { defineScript, requireKeyPrefix, ShopOptionsError } from "../shared/index.ts";

/** Options of {@link createSessionStore}. */
export interface SessionStoreOptions {
  /** Where sessions live, shared by gateway replicas. Default: this process only (a bounded map). */
  readonly redis?: Redis;
  /** Prefix of every Redis key, e.g. "weft:gateway:". Required with `redis`. */
  readonly keyPrefix?: string;
  /** A session unused this long ends, in ms. Default 1,800,000 (30 minutes). */
  readonly idleMs?: number;
  /** A session ends this long after sign-in however much it is used, in ms. Default 43,200,000 (12 hours). */
  readonly absoluteMs?: number;
  /** In memory: most sessions kept (the oldest end first). Default 100,000. */
  readonly maxSessions?: number;
}

/** Browser sessions: an opaque id (the cookie's value) naming a signed-in user. */
export interface SessionStore {
  /** Starts a session for `userId`; returns its id (256 random bits, base64url). */
  create(userId: string): Promise<string>;
  /** The user of a live session (and extends its idle expiry), or undefined when it ended, was revoked or never existed. */
  resolve(id: string): Promise<string | undefined>;
  /** Ends a session at once (sign-out, rotation). */
  revoke(id: string): Promise<void>;
  /** Idle and absolute lifetimes, in ms (the cookie's Max-Age follows the absolute one). */
  readonly idleMs: number;
  readonly absoluteMs: number;
}

// KEYS[1]: the session. ARGV: user id, idle ms, absolute ms. Stamps the start with Redis' clock.
const CREATE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. now, 'PX', math.min(tonumber(ARGV[2]), tonumber(ARGV[3])))
return 1
`;

// KEYS[1]: the session. ARGV: idle ms, absolute ms. Returns the user and slides the idle expiry, never past the absolute one.
const RESOLVE = `
local v = redis.call('GET', KEYS[1])
if not v then return false end
local sep = string.find(v, '|', 1, true)
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local left = tonumber(string.sub(v, sep + 1)) + tonumber(ARGV[2]) - now
if left <= 0 then redis.call('DEL', KEYS[1]) return false end
redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[1]), left))
return string.sub(v, 1, sep - 1)
`;

/** Longest session id accepted from a cookie (a real one is 43 characters); longer ones are not looked up. */
const MAX_ID_LENGTH = 64;

/**
 * Server-side browser sessions. The store keys each session by a digest of its id, so a copy of the
 * store (a Redis dump) holds no usable cookie. Expiry is idle (sliding) and absolute.
 */
export function createSessionStore(options: SessionStoreOptions = {}): SessionStore {
  const idleMs = options.idleMs ?? 1_800_000;
  const absoluteMs = options.absoluteMs ?? 43_200_000;
  const maxSessions = options.maxSessions ?? 100_000;
  if (!Number.isInteger(idleMs) || idleMs < 1) throw new ShopOptionsError("options.idleMs must be a positive integer (ms)");
  if (!Number.isInteger(absoluteMs) || absoluteMs < idleMs) throw new ShopOptionsError("options.absoluteMs must be an integer of at least options.idleMs (ms)");
  if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new ShopOptionsError("options.maxSessions must be a positive integer");
  const digest = (id: string) => createHash("sha256").update(id).digest("base64url");
  const valid = (id: string) => id.length > 0 && id.length <= MAX_ID_LENGTH && /^[\w-]+$/.test(id);
  const newId = () => randomBytes(32).toString("base64url");

  const { redis } = options;
  if (redis !== undefined) {
    const prefix = `${requireKeyPrefix(options.keyPrefix)}session:`;
    const create = defineScript(redis, "weftGatewaySessionCreate", CREATE, 1);
    const resolve = defineScript(redis, "weftGatewaySessionResolve", RESOLVE, 1);
    const STORE = "session store";
    return {
      idleMs,
      absoluteMs,
      async create(userId) {
        const id = newId();
        await redisCall(STORE, () => create([prefix + digest(id)], [userId, idleMs, absoluteMs]));
        return id;
      },
      async resolve(id) {
        if (!valid(id)) return undefined;
        const user = await redisCall(STORE, () => resolve([prefix + digest(id)], [idleMs, absoluteMs]));
        return typeof user === "string" ? user : undefined;
      },
      async revoke(id) {
        if (valid(id)) await redisCall(STORE, () => redis.del(prefix + digest(id)));
      },
    };
  }

  const sessions = new Map<string, { userId: string; startedAt: number; idleUntil: number }>();
  return {
    idleMs,
    absoluteMs,
    async create(userId) {
      const id = newId();
      const now = Date.now();
      if (sessions.size >= maxSessions) sessions.delete(sessions.keys().next().value!);
      sessions.set(digest(id), { userId, startedAt: now, idleUntil: now + idleMs });
      return id;
    },
    async resolve(id) {
      if (!valid(id)) return undefined;
      const key = digest(id);
      const session = sessions.get(key);
      if (session === undefined) return undefined;
      const now = Date.now();
      if (now >= session.idleUntil || now >= session.startedAt + absoluteMs) {
        sessions.delete(key);
        return undefined;
      }
      session.idleUntil = now + idleMs;
      return session.userId;
    },
    async revoke(id) {
      if (valid(id)) sessions.delete(digest(id));
    },
  };
}
