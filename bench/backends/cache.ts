// Cache hit latency (p50 / p99, one call at a time) and hit throughput (64 in flight) for the Redis
// cache without and with the in-process copy, and the in-memory cache.
// Usage: node bench/backends/cache.ts [calls=20000]   Env: REDIS_URL (default redis://127.0.0.1:6379).
import { create } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { ProductSchema } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import type { Cache } from "../../mesh/cache/index.ts";
import { createMemoryCache, createRedisCache } from "../../mesh/cache/index.ts";
import { numberSetting, readCommandLine, runMain } from "../../mesh/errors/index.ts";
import { readMeshNodeConfig } from "../../mesh/node/index.ts";
import { redisClientOptions, waitForRedisReady } from "../../mesh/redis/index.ts";

const { positionals } = readCommandLine({
  usage: "node bench/backends/cache.ts [calls]   (part of npm run bench:backends)",
  summary: "Cache hit latency (p50 / p99, one call at a time) and hit throughput (64 in flight): Redis cache without and\nwith the in-process copy, and the in-memory cache.",
  flags: {},
  positionals: [{ name: "calls", description: "calls per measurement (default 20000)" }],
  env: [{ name: "REDIS_URL", defaultText: "redis://127.0.0.1:6379", description: "the Redis measured (keys of its own, deleted after)" }],
});
const calls = numberSetting("calls", positionals[0], 20_000, { min: 1, integer: true });
// REDIS_URL is checked as a mesh process checks it; a Redis that never becomes ready is one line, exit 1.
const redis = await runMain(async () => {
  const url = readMeshNodeConfig({ REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" }, "bench").redisUrl!;
  const client = new Redis(url, redisClientOptions);
  client.on("error", () => undefined); // the wait below reports a Redis that never answers
  await waitForRedisReady(client, { timeoutMs: 5_000 });
  return client;
});
const prefix = `bench${Date.now().toString(36)}:`;
const product = create(ProductSchema, {
  id: "p-1",
  name: "Espresso machine",
  description: "A 15-bar pump espresso machine with a steam wand.",
  category: "kitchen",
  priceCents: 24_900n,
  tags: ["coffee", "kitchen", "appliance"],
});
const load = async () => product;

async function measure(name: string, cache: Cache) {
  await cache.getOrLoad(ProductSchema, "p-1", load);
  const latencies = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await cache.getOrLoad(ProductSchema, "p-1", load);
    latencies[i] = performance.now() - started;
  }
  latencies.sort();
  // Throughput over 1,000 warm keys, so single flight does not fold the 64 concurrent calls into one.
  for (let k = 0; k < 1_000; k++) await cache.getOrLoad(ProductSchema, `k${k}`, load);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < calls) await cache.getOrLoad(ProductSchema, `k${next++ % 1_000}`, load);
    }),
  );
  const perSecond = Math.round(calls / ((performance.now() - started) / 1000));
  const us = (q: number) => Math.round(latencies[Math.floor(calls * q)] * 1000);
  console.log(JSON.stringify({ cache: name, hitP50Us: us(0.5), hitP99Us: us(0.99), hitsPerSecond64InFlight: perSecond }));
  await cache.close();
}

await measure("redis", createRedisCache({ redis, keyPrefix: prefix }));
await measure("redis+local", createRedisCache({ redis, keyPrefix: prefix, localTtlMs: 5_000 }));
await measure("memory", createMemoryCache());
const keys = await redis.keys(`${prefix}*`);
if (keys.length > 0) await redis.del(...keys);
await redis.quit();
