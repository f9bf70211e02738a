import type { Redis } from "ioredis";
import { defineScript, requireKeyPrefix } from "../shared/index.ts";
import { redisCall, redisToConnectError, slotPrefix } from "../../mesh/redis/index.ts";
import * as scripts from "./redis-stock-scripts.ts";
import {
  DEFAULT_EXPIRE_BATCH,
  DEFAULT_RELEASED_RETENTION_MS,
  type ExpiredReservation,
  ledgerErrors,
  mergeQuantities,
  parseReservationTtlMs,
  reservationKey,
  type StockChange,
  type StockLedger,
  type StockSnapshot,
} from "./stock-ledger.ts";

/** Options of {@link createRedisStockLedger}. */
export interface RedisStockLedgerOptions {
  /** The connection (the caller owns it; see mesh/redis `redisClientOptions`). Required. */
  readonly redis: Redis;
  /** Prefix of every key, e.g. `"weft:inventory:"`. Every replica of one shop uses the same. Required. */
  readonly keyPrefix: string;
  /** How long a reservation stays pending before `expireDue` may give it back, in ms. Default 300,000. */
  readonly reservationTtlMs?: number;
  /** How long released and expired reservations (and release tombstones) are remembered, in ms. Default 86,400,000. */
  readonly releasedRetentionMs?: number;
  /**
   * Replicas that must hold each change before it is acknowledged (Redis WAIT): with 1 under Sentinel, a
   * reservation a caller saw survives the primary's crash, so a failover cannot sell its stock again.
   * Fewer in time (`replicaWaitMs`) fails UNAVAILABLE (the change may stand; a reservation then expires).
   * WAIT holds the connection until then: give the ledger a connection not shared with hot reads.
   * Default 0 (acknowledged by the primary alone).
   */
  readonly replicaAcks?: number;
  /** How long to wait for those replicas, in ms. Default 1,000. */
  readonly replicaWaitMs?: number;
}

/** The Redis ledger: a {@link StockLedger} plus seeding. */
export interface RedisStockLedger extends StockLedger {
  /**
   * Adds the products that Redis does not know yet with their starting units; products already there keep
   * their stock (so every replica may call it at start-up). Resolves to how many were added.
   */
  seedIfAbsent(initial: Iterable<readonly [string, number | bigint]>): Promise<number>;
}

const STORE = "inventory store";
/** Products per SEED call, so one script never blocks Redis for long. */
const SEED_CHUNK = 500;

/**
 * A stock ledger in Redis that any number of inventory replicas share. Layout under `keyPrefix`:
 * `available` and `reserved` (hashes by product id), `pending` (sorted set of pending reservation ids by
 * deadline) and `reservation:<id>` (hash). Reserve, release, confirm, expire and restock are each one Lua
 * script, so no interleaving of replicas can oversell or double-release. Redis failures surface as
 * Connect codes (UNAVAILABLE when Redis is down) through mesh/redis.
 */
export function createRedisStockLedger(options: RedisStockLedgerOptions): RedisStockLedger {
  if (!options?.redis) throw new TypeError("options.redis must be an ioredis connection");
  const ttlMs = parseReservationTtlMs(options.reservationTtlMs);
  const retentionMs = options.releasedRetentionMs ?? DEFAULT_RELEASED_RETENTION_MS;
  if (!Number.isInteger(retentionMs) || retentionMs < 1) throw new TypeError("options.releasedRetentionMs must be a positive integer (milliseconds)");
  const replicaAcks = options.replicaAcks ?? 0;
  if (!Number.isInteger(replicaAcks) || replicaAcks < 0) throw new TypeError("options.replicaAcks must be a non-negative integer");
  const replicaWaitMs = options.replicaWaitMs ?? 1_000;
  if (!Number.isInteger(replicaWaitMs) || replicaWaitMs < 1) throw new TypeError("options.replicaWaitMs must be a positive integer (milliseconds)");
  const { redis } = options;

  /** Runs one change, then waits for `replicaAcks` replicas to hold it. */
  const change = async (script: () => Promise<unknown>): Promise<unknown> => {
    const reply = await redisCall(STORE, script);
    if (replicaAcks > 0 && (await redisCall(STORE, () => redis.wait(replicaAcks, replicaWaitMs))) < replicaAcks) {
      throw redisToConnectError(new Error("MASTERDOWN fewer replicas acknowledged the change than required"), STORE);
    }
    return reply;
  };

  // One hash slot for the whole ledger (Redis Cluster): its scripts touch several of these keys at once.
  const prefix = slotPrefix(requireKeyPrefix(options.keyPrefix));
  const available = `${prefix}available`;
  const reserved = `${prefix}reserved`;
  const pending = `${prefix}pending`;
  const reservationKeys = (id: string) => [available, reserved, `${prefix}reservation:${id}`, pending];

  const reserveScript = defineScript(redis, "weftInventoryReserve", scripts.RESERVE, 4);
  const markPublishedScript = defineScript(redis, "weftInventoryMarkPublished", scripts.MARK_PUBLISHED, 1);
  const releaseScript = defineScript(redis, "weftInventoryRelease", scripts.RELEASE, 4);
  const expireScript = defineScript(redis, "weftInventoryExpire", scripts.EXPIRE, 4);
  const confirmScript = defineScript(redis, "weftInventoryConfirm", scripts.CONFIRM, 4);
  const restockScript = defineScript(redis, "weftInventoryRestock", scripts.RESTOCK, 2);
  const seedScript = defineScript(redis, "weftInventorySeed", scripts.SEED, 2);

  return {
    async levels(productIds) {
      const results = await redisCall(STORE, () => redis.multi().hmget(available, ...productIds).hmget(reserved, ...productIds).exec());
      const [a, r] = (results ?? []).map(([err, value]) => {
        if (err) throw err;
        return value as Array<string | null>;
      });
      return productIds.map((productId, i) =>
        a[i] === null ? undefined : { productId, available: BigInt(a[i]!), reserved: BigInt(r[i] ?? "0") },
      );
    },

    async reserve(reservationId, lines) {
      const quantities = mergeQuantities(lines);
      const args: string[] = [reservationId, reservationKey(quantities), String(ttlMs)];
      for (const [productId, quantity] of quantities) args.push(productId, String(quantity));
      const reply = (await change(() => reserveScript(reservationKeys(reservationId), args))) as string[];
      switch (reply[0]) {
        case "fresh":
        case "again":
          return { levels: parseLevels(reply[1]), changes: parseChanges(reply[2]), fresh: reply[0] === "fresh", published: reply[3] === "1" };
        case "conflict":
          throw ledgerErrors.conflict(reservationId);
        case "released-before":
          throw ledgerErrors.releasedBefore(reservationId);
        case "not-found":
          throw ledgerErrors.notFound(reply[1]);
        case "short":
          throw ledgerErrors.short(reply[1], reply[2], reply[3]);
        default:
          throw unexpected(reply);
      }
    },

    async markPublished(reservationId) {
      await redisCall(STORE, () => markPublishedScript([`${prefix}reservation:${reservationId}`], []));
    },

    async confirm(reservationId) {
      const reply = (await change(() => confirmScript(reservationKeys(reservationId), [reservationId]))) as string[];
      switch (reply[0]) {
        case "confirmed":
        case "already-confirmed":
        case "released":
        case "unknown":
        case "lost":
          return { status: reply[0], changes: [] };
        case "reclaimed":
          return { status: "reclaimed", changes: parseChanges(reply[1]) };
        default:
          throw unexpected(reply);
      }
    },

    async release(reservationId) {
      const reply = (await change(() => releaseScript(reservationKeys(reservationId), [reservationId, retentionMs]))) as string[];
      if (reply[0] === "released") return { released: true, changes: parseChanges(reply[1]) };
      if (reply[0] === "done" || reply[0] === "unknown") return { released: false, changes: [] };
      throw unexpected(reply);
    },

    async restock(productId, quantity) {
      const reply = (await change(() => restockScript([available, reserved], [productId, String(quantity)]))) as string[];
      if (reply[0] === "not-found") throw ledgerErrors.notFound(productId);
      return { productId, available: BigInt(reply[0]), reserved: BigInt(reply[1]) };
    },

    async expireDue(limit = DEFAULT_EXPIRE_BATCH) {
      // Oldest deadlines first; each candidate is expired by one script that re-checks it under Redis's
      // clock, so replicas sweeping at the same time expire each reservation once.
      const due = await redisCall(STORE, () => redis.zrange(pending, 0, limit - 1));
      const expired: ExpiredReservation[] = [];
      for (const reservationId of due) {
        const reply = (await change(() => expireScript(reservationKeys(reservationId), [reservationId, retentionMs]))) as string[];
        if (reply[0] === "not-due") break;
        if (reply[0] === "expired") expired.push({ reservationId, changes: parseChanges(reply[1]) });
      }
      return expired;
    },

    async seedIfAbsent(initial) {
      let added = 0;
      let chunk: string[] = [];
      const flush = async () => {
        if (chunk.length === 0) return;
        const args = chunk;
        chunk = [];
        added += Number(await change(() => seedScript([available, reserved], args)));
      };
      for (const [productId, units] of initial) {
        if (BigInt(units) < 0n) throw new RangeError(`initial stock of ${productId} must not be negative`);
        chunk.push(productId, String(units));
        if (chunk.length >= SEED_CHUNK * 2) await flush();
      }
      await flush();
      return added;
    },
  };
}

/** `[id, available, reserved, ...]` as JSON. */
function parseLevels(json: string): StockSnapshot[] {
  const flat = JSON.parse(json) as string[];
  const levels: StockSnapshot[] = [];
  for (let i = 0; i < flat.length; i += 3) levels.push({ productId: flat[i], available: BigInt(flat[i + 1]), reserved: BigInt(flat[i + 2]) });
  return levels;
}

/** `[id, available, delta, ...]` as JSON. */
function parseChanges(json: string): StockChange[] {
  const flat = JSON.parse(json) as string[];
  const changes: StockChange[] = [];
  for (let i = 0; i < flat.length; i += 3) changes.push({ productId: flat[i], available: BigInt(flat[i + 1]), delta: BigInt(flat[i + 2]) });
  return changes;
}

/** A reply no script produces: a bug or a foreign script under our name; INTERNAL without details. */
function unexpected(reply: unknown): Error {
  return redisToConnectError(Object.assign(new Error("unexpected reply from an inventory script"), { reply }), STORE);
}
