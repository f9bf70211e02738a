// Cache hit latency (p50 / p99, one call at a time) and hit throughput (64 in flight) for the Redis
// cache without and with the in-process copy, and the in-memory cache.
// Each cache first serves one-second windows of hits until its hits/s stop rising (bench/lib/steady-state.ts);
// both cores' speed is probed around each measurement and one taken in a slow spell is marked.
// Usage: node bench/backends/cache.ts [calls=20000] [--warmup 2] [--max-warmup 15] [--quick]
// Env: REDIS_URL (default redis://127.0.0.1:6379).
import { create } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { ProductSchema } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import type { Cache } from "../../mesh/cache/index.ts";
import { createMemoryCache, createRedisCache } from "../../mesh/cache/index.ts";
import { numberSetting, readCommandLine, runMain } from "../../mesh/errors/index.ts";
import { readMeshNodeConfig } from "../../mesh/node/index.ts";
import { redisClientOptions, waitForRedisReady } from "../../mesh/redis/index.ts";
import { betweenProbes, type RunProbes } from "../lib/core-probe.ts";
import { slowRunFilter } from "../lib/results.ts";
import { describeWarmUp, warmUntilSteady } from "../lib/steady-state.ts";
import { warmUpBounds, warmUpFlags } from "../lib/warm-up-flags.ts";

// Each cache's warm-up: at least 2 s of hits, then until the hits/s stop rising, at most 15 s.
const WARM_UP = { minS: 2, maxS: 15, quickS: 0.3, until: "the hits/s (one at a time) stop rising" };
const { positionals, values } = readCommandLine({
  usage: "node bench/backends/cache.ts [calls]   (part of npm run bench:backends)",
  summary: "Cache hit latency (p50 / p99, one call at a time) and hit throughput (64 in flight): Redis cache without and\nwith the in-process copy, and the in-memory cache.",
  flags: {
    ...warmUpFlags(WARM_UP),
    quick: { type: "boolean", default: false, description: "a fixed 0.3 s warm-up and no core probe: checks that it runs, says nothing about speed" },
  },
  positionals: [{ name: "calls", description: "calls per measurement (default 20000)" }],
  env: [{ name: "REDIS_URL", defaultText: "redis://127.0.0.1:6379", description: "the Redis measured (keys of its own, deleted after)" }],
});
const calls = numberSetting("calls", positionals[0], 20_000, { min: 1, integer: true });
const quick = values.quick === true;
const warmUp = warmUpBounds(values, WARM_UP, quick);
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

/** Hits/s of one call at a time for one window of `ms`. */
async function hitsFor(cache: Cache, ms: number): Promise<number> {
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    await cache.getOrLoad(ProductSchema, "p-1", load);
    n++;
  }
  return (n * 1000) / (performance.now() - started);
}

async function measure(name: string, cache: Cache): Promise<{ probe?: RunProbes }> {
  await cache.getOrLoad(ProductSchema, "p-1", load);
  const warm = await warmUntilSteady(() => hitsFor(cache, Math.min(1000, Math.max(warmUp.minMs, 100))), warmUp);
  const { value, probe } = await betweenProbes(() => timeHits(cache), !quick);
  console.log(JSON.stringify({ cache: name, ...value, warmUp: describeWarmUp(warm) }));
  await cache.close();
  return { ...(probe === undefined ? {} : { probe }) };
}

/** Hit latency one call at a time, then hits/s with 64 in flight. */
async function timeHits(cache: Cache) {
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
  return { hitP50Us: us(0.5), hitP99Us: us(0.99), hitsPerSecond64InFlight: perSecond };
}

const measured = [
  await measure("redis", createRedisCache({ redis, keyPrefix: prefix })),
  await measure("redis+local", createRedisCache({ redis, keyPrefix: prefix, localTtlMs: 5_000 })),
  await measure("memory", createMemoryCache()),
];
// One measurement per cache: a slow spell cannot be left out of a median here, only said.
const slow = slowRunFilter(measured, (m) => m.probe);
console.log(JSON.stringify({ slowCores: slow.note(measured.map((m) => [m])), slowCore: Object.fromEntries(["redis", "redis+local", "memory"].map((name, i) => [name, slow.isSlow(measured[i])])) }));
const keys = await redis.keys(`${prefix}*`);
if (keys.length > 0) await redis.del(...keys);
await redis.quit();
