// Issue 12, rate limits: three gateway replicas (three hosts, each with its own Redis connection and the
// gateway's rate-limit hooks) share one allowance through Redis exactly; while Redis is down, sign-in
// fails closed (UNAVAILABLE) and reads fail open to each replica's own limiter (still limited).

import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { createHost, silentLogger, type Host } from "../../mesh/host/index.ts";
import { retryDelayMs } from "../../mesh/ratelimit/index.ts";
import { redisClientOptions, waitForRedisReady } from "../../mesh/redis/index.ts";
import { createWeftGrpcTransport } from "../../mesh/transport/index.ts";
import { createGatewayRateLimits, GATEWAY_METHOD_COSTS, GATEWAY_RATE_BUCKETS } from "../../services/gateway/index.ts";
import { privateRedis } from "../support/private-servers.ts";
import { redisUrl } from "../support/servers.ts";

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

type Buckets = Parameters<typeof createGatewayRateLimits>[0] extends infer O ? NonNullable<O> extends { buckets?: infer B } ? NonNullable<B> : never : never;

// The rate limit decides before any handler runs; these answer at once so only the limit is measured.
const answering = {
  signIn: () => ({ accessToken: "", user: undefined }),
  signUp: () => ({ accessToken: "", user: undefined }),
  browse: () => ({ products: [], nextPageToken: "" }),
  getProductDetails: () => ({}),
  checkout: () => ({}),
  listMyOrders: () => ({ orders: [] }),
};

/** `count` gateway replicas sharing the Redis at `url` under one key prefix; clients to each. */
async function replicas(count: number, url: string, buckets: Buckets): Promise<{ clients: Client<typeof GatewayService>[]; hosts: Host[] }> {
  const keyPrefix = `weft:test:ratelimit:${randomUUID()}:`;
  const clients: Client<typeof GatewayService>[] = [];
  const hosts: Host[] = [];
  for (let i = 0; i < count; i++) {
    const redis = new Redis(url, { ...redisClientOptions, lazyConnect: false });
    redis.on("error", () => {}); // the outage test stops this Redis on purpose
    await waitForRedisReady(redis, { timeoutMs: 5_000 });
    const host = createHost({ port: 0, logger: silentLogger, callHooks: [createGatewayRateLimits({ redis, keyPrefix, buckets })] });
    host.register(GatewayService, answering);
    const { port } = await host.listen();
    const transport = createWeftGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, idleTimeoutMs: 0 });
    clients.push(createClient(GatewayService, transport));
    hosts.push(host);
    cleanups.push(() => host.close(), () => redis.disconnect());
  }
  return { clients, hosts };
}

/** "OK" or the code's name, and the RetryInfo delay of a refusal. */
async function outcome(call: Promise<unknown>): Promise<{ code: string; retryMs?: number }> {
  try {
    await call;
    return { code: "OK" };
  } catch (e) {
    const err = ConnectError.from(e);
    return { code: Code[err.code], retryMs: retryDelayMs(err) };
  }
}

const count = (results: { code: string }[], code: string) => results.filter((r) => r.code === code).length;
// A refill far slower than the test: the allowance is exactly the burst.
const NO_REFILL = 1 / 3600;

describe("gateway rate limits shared through Redis", () => {
  it("across 3 replicas exactly `burst` of many concurrent sign-ins are allowed, the rest refused with a RetryInfo delay", async () => {
    const burst = 25;
    const { clients } = await replicas(3, redisUrl(), { auth: { ratePerSecond: NO_REFILL, burst }, api: GATEWAY_RATE_BUCKETS.api });
    const calls = 90;
    const results = await Promise.all(Array.from({ length: calls }, (_, i) => outcome(clients[i % 3].signIn({ email: "a@example.com", password: "x" }))));
    expect(count(results, "OK")).toBe(burst);
    expect(count(results, "ResourceExhausted")).toBe(calls - burst);
    // One unit comes back after 1/rate seconds: every refusal says to wait about that long.
    for (const r of results.filter((r) => r.code === "ResourceExhausted")) expect(r.retryMs).toBeGreaterThan(3_000_000);
    // A sign-up costs 2 from the same bucket: nothing is left for it either.
    expect((await outcome(clients[1].signUp({ email: "b@example.com", password: "x", displayName: "B" }))).code).toBe("ResourceExhausted");
  });

  it("costs come from the one table: sign-ups (cost 2) get exactly burst/2 across replicas", async () => {
    const burst = 20;
    const cost = GATEWAY_METHOD_COSTS[`/${GatewayService.typeName}/SignUp`].cost;
    const { clients } = await replicas(3, redisUrl(), { auth: { ratePerSecond: NO_REFILL, burst }, api: GATEWAY_RATE_BUCKETS.api });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => outcome(clients[i % 3].signUp({ email: "c@example.com", password: "x", displayName: "C" }))));
    expect(count(results, "OK")).toBe(burst / cost);
  });

  it("holds the rate over time: allowed calls never exceed burst + rate x (Redis time elapsed)", async () => {
    const rate = 40;
    const burst = 10;
    const { clients } = await replicas(3, redisUrl(), { auth: GATEWAY_RATE_BUCKETS.auth, api: { ratePerSecond: rate, burst } });
    const clock = new Redis(redisUrl(), redisClientOptions);
    cleanups.push(() => clock.disconnect());
    await waitForRedisReady(clock, { timeoutMs: 5_000 });
    const redisSeconds = async () => {
      const [s, us] = await clock.time();
      return Number(s) + Number(us) / 1e6;
    };
    const started = await redisSeconds();
    const results: { code: string }[] = [];
    const until = Date.now() + 2_000;
    // 12 callers, bounded in time and in count.
    await Promise.all(Array.from({ length: 12 }, async (_, w) => {
      for (let i = 0; i < 2_000 && Date.now() < until; i++) results.push(await outcome(clients[(w + i) % 3].getProductDetails({ id: "p" })));
    }));
    const elapsed = (await redisSeconds()) - started;
    const allowed = count(results, "OK");
    const ceiling = burst + rate * elapsed;
    console.log(`rate limit accuracy: ${allowed} allowed of ${results.length} calls in ${elapsed.toFixed(3)} s (Redis clock) across 3 replicas; ceiling burst + rate x t = ${ceiling.toFixed(1)} (${((allowed / ceiling) * 100).toFixed(1)}%)`);
    expect(allowed).toBeLessThanOrEqual(Math.floor(ceiling));
    expect(count(results, "OK") + count(results, "ResourceExhausted")).toBe(results.length);
  });

  it("while Redis is down: sign-in fails closed (UNAVAILABLE), reads fail open to a per-replica limiter", async () => {
    const redis = await privateRedis();
    cleanups.push(() => redis.dispose());
    const apiBurst = 6;
    const { clients } = await replicas(2, redis.url, { auth: { ratePerSecond: NO_REFILL, burst: 50 }, api: { ratePerSecond: NO_REFILL, burst: apiBurst } });
    expect((await outcome(clients[0].signIn({ email: "d@example.com", password: "x" }))).code).toBe("OK");
    await redis.stop("SIGKILL");
    const signIns = await Promise.all(Array.from({ length: 5 }, () => outcome(clients[0].signIn({ email: "d@example.com", password: "x" }))));
    expect(signIns.map((r) => r.code)).toEqual(Array(5).fill("Unavailable"));
    // Reads still work, each replica limiting on its own: exactly apiBurst per replica.
    const reads = await Promise.all(Array.from({ length: 20 }, () => outcome(clients[1].getProductDetails({ id: "p" }))));
    expect(count(reads, "OK")).toBe(apiBurst);
    expect(count(reads, "ResourceExhausted")).toBe(20 - apiBurst);
    // Redis back: sign-in is decided by the shared limiter again.
    await redis.start();
    let back = "";
    for (let i = 0; i < 100 && back !== "OK"; i++) {
      back = (await outcome(clients[0].signIn({ email: "d@example.com", password: "x" }))).code;
      if (back !== "OK") await new Promise((r) => setTimeout(r, 100));
    }
    expect(back).toBe("OK");
  });
});
