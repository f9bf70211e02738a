import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProductSchema } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import type { Product } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { runId, sleep, waitUntil } from "../../test/backends/servers.ts";
import type { Cache } from "./cache.ts";
import { redisClientOptions } from "../redis/index.ts";
import { createRedisCache } from "./redis-cache.ts";
import { waitForSubscribers } from "../../test/support/redis-subscribers.ts";
import { redisUrl } from "../../test/support/servers.ts";

const REDIS = redisUrl();
const product = (id: string, name = "Widget"): Product => create(ProductSchema, { id, name, priceCents: 1999n });

describe("createRedisCache (shared Redis)", () => {
  const prefix = `${runId()}:`;
  let redis: Redis;
  const caches: Cache[] = [];
  const cache = (extra: Partial<Parameters<typeof createRedisCache>[0]> = {}) => {
    const c = createRedisCache({ redis, keyPrefix: prefix, ...extra });
    caches.push(c);
    return c;
  };

  beforeAll(async () => {
    redis = new Redis(REDIS, redisClientOptions);
    await waitUntil(() => redis.status === "ready", 5_000, "redis ready");
  });

  afterAll(async () => {
    await Promise.all(caches.map((c) => c.close()));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it("stores binary Protobuf with a jittered TTL, shared by replicas", async () => {
    const a = cache({ ttlMs: 10_000, ttlJitter: 0.2 });
    const b = cache({ ttlMs: 10_000, ttlJitter: 0.2 });
    let loads = 0;
    const load = async () => (loads++, product("p1"));
    expect((await a.getOrLoad(ProductSchema, "product:p1", load)).id).toBe("p1");
    expect((await b.getOrLoad(ProductSchema, "product:p1", load)).priceCents).toBe(1999n);
    expect(loads).toBe(1);
    const stored = await redis.getBuffer(`${prefix}v:{product:p1}`);
    expect(Buffer.compare(stored!, Buffer.from(toBinary(ProductSchema, product("p1"))))).toBe(0);
    const ttl = await redis.pttl(`${prefix}v:{product:p1}`);
    expect(ttl).toBeGreaterThan(9_000);
    expect(ttl).toBeLessThanOrEqual(12_000);
  });

  it("loads once from the source for 1,000 concurrent misses on one key", async () => {
    const c = cache();
    let loads = 0;
    const load = async () => {
      loads++;
      await sleep(20);
      return product("hot");
    };
    const results = await Promise.all(Array.from({ length: 1_000 }, () => c.getOrLoad(ProductSchema, "product:hot", load)));
    expect(loads).toBe(1);
    expect(results.every((p) => p.id === "hot")).toBe(true);
  });

  it("after invalidate() resolves, no replica reads the old value, even one whose load was running", async () => {
    const a = cache();
    const b = cache();
    let version = 1;
    const source = async () => product("p2", `v${version}`);
    expect((await a.getOrLoad(ProductSchema, "product:p2", source)).name).toBe("v1");

    // B starts a slow load of v1 that finishes after the change and the invalidation.
    await redis.del(`${prefix}v:{product:p2}`);
    let release!: () => void;
    const slow = b.getOrLoad(ProductSchema, "product:p2", async () => {
      const stale = product("p2", `v${version}`);
      await new Promise<void>((r) => (release = r));
      return stale;
    });
    await waitUntil(() => release !== undefined, 1_000, "slow load started");
    version = 2;
    await a.invalidate("product:p2");
    release();
    expect((await slow).name).toBe("v1"); // that caller asked before the change
    expect(await redis.exists(`${prefix}v:{product:p2}`)).toBe(0); // ...but it was not stored
    expect((await b.getOrLoad(ProductSchema, "product:p2", source)).name).toBe("v2");
    expect((await a.getOrLoad(ProductSchema, "product:p2", source)).name).toBe("v2");
  });

  it("drops every replica's in-process copy on invalidate (Redis pub/sub)", async () => {
    const a = cache({ localTtlMs: 60_000 });
    const b = cache({ localTtlMs: 60_000 });
    await waitForSubscribers(redis, `${prefix}invalidate`, 2);
    let version = 1;
    let loads = 0;
    const source = async () => (loads++, product("p3", `v${version}`));
    await a.getOrLoad(ProductSchema, "product:p3", source);
    await b.getOrLoad(ProductSchema, "product:p3", source);
    await redis.del(`${prefix}v:{product:p3}`); // only the in-process copies are left
    expect((await b.getOrLoad(ProductSchema, "product:p3", source)).name).toBe("v1");
    expect(loads).toBe(1);
    version = 2;
    await a.invalidate("product:p3");
    const invalidatedAt = performance.now();
    await waitUntil(async () => (await b.getOrLoad(ProductSchema, "product:p3", source)).name === "v2", 1_000, "B sees v2");
    expect(performance.now() - invalidatedAt).toBeLessThan(1_000);
    expect((await a.getOrLoad(ProductSchema, "product:p3", source)).name).toBe("v2");
  });

  it("rejects bad options naming the field", () => {
    expect(() => createRedisCache({ redis, keyPrefix: "" })).toThrow("options.keyPrefix");
    expect(() => createRedisCache({ redis, keyPrefix: "x:", commandTimeoutMs: 0 })).toThrow("options.commandTimeoutMs");
    expect(() => createRedisCache({ redis, keyPrefix: "x:", ttlJitter: 2 })).toThrow("options.ttlJitter");
  });

  it("answers Unavailable from invalidate when Redis cannot be reached, so the event is retried", async () => {
    const down = new Redis("redis://127.0.0.1:1", { ...redisClientOptions, lazyConnect: true, retryStrategy: () => null });
    const c = createRedisCache({ redis: down, keyPrefix: prefix, commandTimeoutMs: 50 });
    let loads = 0;
    expect((await c.getOrLoad(ProductSchema, "k", async () => (loads++, product("k")))).id).toBe("k");
    expect(loads).toBe(1);
    await expect(c.invalidate("k")).rejects.toMatchObject({ code: Code.Unavailable });
    await c.close();
    down.disconnect();
  });
});
