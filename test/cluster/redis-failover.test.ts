// Redis failover under load: the primary of a Sentinel group (scripts/cluster/redis-sentinel.ts: one
// primary, two replicas, three sentinels) is SIGKILLed while cached reads, stock reservations and session
// lookups run through one REDIS_URL=redis-sentinel://... connection. The cache bypasses Redis (every read
// still answered) and serves from Redis again after the failover; reservations fail UNAVAILABLE for the
// gap and none a caller saw is lost (the ledger waits for a replica), so no stock is sold twice; sessions
// fail closed (UNAVAILABLE, never "no session") during the gap and all survive it.

import { randomBytes, randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { createRedisCache } from "../../mesh/cache/index.ts";
import { openRedis, waitForRedisReady } from "../../mesh/redis/index.ts";
import { startRedisSentinel, type RedisSentinelCluster } from "../../scripts/cluster/redis-sentinel.ts";
import { createSessionStore } from "../../services/gateway/session-store.ts";
import { createRedisStockLedger } from "../../services/inventory/index.ts";

const prefix = `weft-test:redisfo:${randomBytes(4).toString("hex")}:`;
/** Load bounds: the whole run's time, and calls per worker. */
const MAX_RUN_MS = 25_000;
const MAX_CALLS_PER_WORKER = 20_000;
/** Reservations before the kill, and after the first one on the new primary. */
const BEFORE = 150;
const AFTER = 150;
const STOCK = 1_000_000;
const SESSIONS = 20;
const CACHE_KEYS = 10;

let cluster: RedisSentinelCluster;
let redis: Redis;

beforeAll(async () => {
  cluster = await startRedisSentinel({ replicas: 2 });
  redis = await openRedis(cluster.url);
  redis.on("error", () => {}); // the kill below is what this test is about
  await waitForRedisReady(redis, { timeoutMs: 5_000 });
});

afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `read` until it does not fail UNAVAILABLE (at most 5 s): the sentinels' reconfiguration of the
 * promoted node may close a connection that had already found it, and ioredis reconnects once more.
 */
async function settled<T>(read: () => Promise<T>): Promise<T> {
  for (const until = performance.now() + 5_000; ; ) {
    try {
      return await read();
    } catch (err) {
      if (ConnectError.from(err).code !== Code.Unavailable || performance.now() > until) throw err;
      await pause(50);
    }
  }
}
const codeOf = (err: unknown) => Code[ConnectError.from(err).code];

describe("Redis primary killed under load, Sentinel promotes a replica", () => {
  it("the cache bypasses then serves from Redis again, no acknowledged reservation is lost (no stock sold twice), sessions fail closed then survive", async () => {
    const ledger = createRedisStockLedger({ redis, keyPrefix: `${prefix}inventory:`, replicaAcks: 1 });
    await ledger.seedIfAbsent([["p-1", STOCK]]);
    const cache = createRedisCache({ redis, keyPrefix: `${prefix}cache:` });
    const sessions = createSessionStore({ redis, keyPrefix: `${prefix}gateway:` });
    const sessionIds = await Promise.all(Array.from({ length: SESSIONS }, (_, i) => sessions.create(`user-${i}`)));
    let loads = 0;
    const load = (key: string) => async () => {
      loads++;
      return create(OrderPlacedSchema, { orderId: key });
    };
    for (let i = 0; i < CACHE_KEYS; i++) await cache.getOrLoad(OrderPlacedSchema, `k${i}`, load(`k${i}`));

    const acked: string[] = [];
    const failures = { reserve: new Map<string, number>(), session: new Map<string, number>() };
    const count = (map: Map<string, number>, code: string) => map.set(code, (map.get(code) ?? 0) + 1);
    const at: { kill?: number; dead?: number; failover?: number; reserve?: number; cache?: number; session?: number } = {};
    let bypassed = 0;
    let sessionMisses = 0;
    let afterRecovery = 0;
    const started = performance.now();
    const done = () => (afterRecovery >= AFTER && at.cache !== undefined && at.session !== undefined) || performance.now() - started > MAX_RUN_MS;
    const recovered = (name: "reserve" | "cache" | "session", startedAt: number) => {
      if (at.dead !== undefined && startedAt > at.dead && at[name] === undefined) at[name] = performance.now();
    };

    const reserver = async () => {
      for (let n = 0; n < MAX_CALLS_PER_WORKER && !done(); n++) {
        const startedAt = performance.now();
        const id = randomUUID();
        try {
          await ledger.reserve(id, [{ productId: "p-1", quantity: 1 }]);
          acked.push(id);
          recovered("reserve", startedAt);
          if (at.reserve !== undefined) afterRecovery++;
        } catch (err) {
          count(failures.reserve, codeOf(err));
          await pause(20);
        }
      }
    };
    const reader = async () => {
      for (let n = 0; n < MAX_CALLS_PER_WORKER && !done(); n++) {
        const startedAt = performance.now();
        const before = loads;
        const key = `k${n % CACHE_KEYS}`;
        // A read never fails: with Redis away the cache goes to the source.
        expect((await cache.getOrLoad(OrderPlacedSchema, key, load(key))).orderId).toBe(key);
        if (loads === before) recovered("cache", startedAt);
        else if (at.dead !== undefined) bypassed++;
        await pause(5);
      }
    };
    const sessionReader = async () => {
      for (let n = 0; n < MAX_CALLS_PER_WORKER && !done(); n++) {
        const startedAt = performance.now();
        const i = n % SESSIONS;
        try {
          const user = await sessions.resolve(sessionIds[i]!);
          if (user === undefined) sessionMisses++;
          else expect(user).toBe(`user-${i}`);
          recovered("session", startedAt);
        } catch (err) {
          count(failures.session, codeOf(err));
          await pause(20);
        }
        await pause(5);
      }
    };
    const drill = (async () => {
      while (acked.length < BEFORE && !done()) await pause(10);
      at.kill = performance.now();
      const oldPort = await cluster.killPrimary();
      at.dead = performance.now();
      await cluster.waitForFailover(oldPort);
      at.failover = performance.now();
    })();
    await Promise.all([reserver(), reserver(), reader(), sessionReader(), drill]);

    const since = (t: number | undefined) => (t === undefined ? "never" : `${Math.round(t - at.kill!)} ms`);
    console.log(`redis failover: sentinels promoted a replica ${since(at.failover)} after the kill; reservations back ${since(at.reserve)}, cache hits ${since(at.cache)} (${bypassed} reads bypassed to the source), sessions ${since(at.session)}; ${acked.length} reservations acknowledged, failures ${JSON.stringify(Object.fromEntries(failures.reserve))}, session lookups failed ${JSON.stringify(Object.fromEntries(failures.session))}`);
    expect(at.failover, "the sentinels promoted a replica").toBeDefined();
    expect([since(at.reserve), since(at.cache), since(at.session)]).not.toContain("never");
    expect(afterRecovery).toBeGreaterThanOrEqual(AFTER);
    expect(bypassed, "the cache went to the source while Redis was away").toBeGreaterThan(0);
    // Failures were UNAVAILABLE only (a caller may retry), and a session was never reported missing.
    expect(Object.keys(Object.fromEntries(failures.reserve))).toEqual(["Unavailable"]);
    expect(Object.keys(Object.fromEntries(failures.session))).toEqual(["Unavailable"]);
    expect(sessionMisses, "a live session reported as missing (fail open)").toBe(0);

    // Every acknowledged reservation is on the new primary: replaying it is "again", never a fresh sale.
    // Replayed through a ledger on the same keys that does not WAIT: each WAIT holds the connection until a
    // replica answers, so thousands of them in a row outlast the command timeout on these busy cores.
    const replayer = createRedisStockLedger({ redis, keyPrefix: `${prefix}inventory:` });
    let lost = 0;
    for (let i = 0; i < acked.length; i += 500) {
      const replays = await settled(() => Promise.all(acked.slice(i, i + 500).map((id) => replayer.reserve(id, [{ productId: "p-1", quantity: 1 }]))));
      lost += replays.filter((r) => r.fresh).length;
    }
    expect(lost, "acknowledged reservations lost in the failover").toBe(0);
    const [level] = await settled(() => ledger.levels(["p-1"]));
    expect(level!.available + level!.reserved).toBe(BigInt(STOCK));
    expect(level!.reserved >= BigInt(acked.length)).toBe(true);
    for (let i = 0; i < SESSIONS; i++) expect(await settled(() => sessions.resolve(sessionIds[i]!))).toBe(`user-${i}`);
    await cache.close();
  });
});
