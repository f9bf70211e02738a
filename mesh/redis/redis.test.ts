// The Redis adapter: failures become the right Connect codes without Redis's text, and the readiness
// wait resolves on a real Redis and fails with WEFT_ERR_REDIS_NOT_READY, bounded, where none answers.

import { Code, ConnectError } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { isWeftError } from "../errors/index.ts";
import { isRedisUrl, parseRedisSentinelUrl, redisCall, redisClientOptions, RedisBypassedError, RedisTimeoutError, redisToConnectError, slotPrefix, waitForRedisReady, withTimeout } from "./index.ts";

const REDIS = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

describe("redisToConnectError", () => {
  it("maps unreachable, slow, bypassed and read-only Redis to UNAVAILABLE, OOM to RESOURCE_EXHAUSTED, the rest to INTERNAL", () => {
    const cases: [unknown, Code][] = [
      [Object.assign(new Error("connect ECONNREFUSED 10.0.0.7:6379"), { code: "ECONNREFUSED" }), Code.Unavailable],
      [new Error("Connection is closed."), Code.Unavailable],
      [new Error("Stream isn't writeable and enableOfflineQueue options is false"), Code.Unavailable],
      [new Error("Command timed out"), Code.Unavailable],
      [new Error("READONLY You can't write against a read only replica."), Code.Unavailable],
      [new RedisTimeoutError(100), Code.Unavailable],
      [new RedisBypassedError(), Code.Unavailable],
      [new Error("OOM command not allowed when used memory > 'maxmemory'."), Code.ResourceExhausted],
      [new Error("ERR Error running script (call to f_1234): @user_script:3: key weft:secret"), Code.Internal],
    ];
    for (const [err, code] of cases) {
      const out = redisToConnectError(err, "stock ledger");
      expect([ConnectError.from(out).code, out.rawMessage.startsWith("stock ledger ")], String(err)).toEqual([code, true]);
      expect(out.rawMessage).not.toMatch(/10\.0\.0\.7|weft:secret|maxmemory/);
      expect(out.cause).toBe(err);
    }
    const passed = new ConnectError("already", Code.NotFound);
    expect(redisToConnectError(passed, "x")).toBe(passed);
  });

  it("redisCall translates what the operation throws", async () => {
    const err = await redisCall("order book", () => Promise.reject(new Error("Connection is closed."))).catch((e: unknown) => e);
    expect([ConnectError.from(err).code, ConnectError.from(err).rawMessage]).toEqual([Code.Unavailable, "order book is unavailable"]);
  });
});

describe("waitForRedisReady", () => {
  it("resolves once a real Redis is ready", async () => {
    const redis = new Redis(REDIS, redisClientOptions);
    try {
      await waitForRedisReady(redis, { timeoutMs: 5_000 });
      expect(await redis.ping()).toBe("PONG");
    } finally {
      redis.disconnect();
    }
  });

  it("fails with WEFT_ERR_REDIS_NOT_READY after its bound when nothing answers, naming REDIS_URL not the URL", async () => {
    // An address of its own (still loopback), so the check below cannot confuse it with the hint's example.
    const redis = new Redis("redis://127.0.0.2:1", { ...redisClientOptions, retryStrategy: () => 200 });
    redis.on("error", () => {}); // refused connects are what this test is about
    try {
      const err = await waitForRedisReady(redis, { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(isWeftError(err) && err.code).toBe("WEFT_ERR_REDIS_NOT_READY");
      expect((err as Error).message).toMatch(/REDIS_URL/);
      expect((err as Error).message).not.toMatch(/127\.0\.0\.2/);
    } finally {
      redis.disconnect();
    }
  });

  it("stops waiting when its signal aborts", async () => {
    const redis = new Redis("redis://127.0.0.1:1", { ...redisClientOptions, retryStrategy: () => 200 });
    redis.on("error", () => {}); // refused connects are what this test is about
    try {
      const controller = new AbortController();
      const waiting = waitForRedisReady(redis, { timeoutMs: 60_000, signal: controller.signal }).catch((e: unknown) => e);
      controller.abort(new Error("shutting down"));
      expect(((await waiting) as Error).message).toBe("shutting down");
    } finally {
      redis.disconnect();
    }
  });
});

describe("withTimeout", () => {
  it("a reply that arrived while this process's event loop was blocked wins over the timeout that expired meanwhile", async () => {
    const redis = new Redis(REDIS, redisClientOptions);
    try {
      await waitForRedisReady(redis, { timeoutMs: 5_000 });
      const pending = withTimeout(redis.ping(), 50);
      // The loop is busy for 200 ms: the reply is in the socket long before the timer is due, and after
      // the stall both are due together (Node runs expired timers before it reads sockets).
      const until = performance.now() + 200;
      while (performance.now() < until) {
        // busy
      }
      await expect(pending).resolves.toBe("PONG");
      // A reply that really is late still times out.
      await expect(withTimeout(new Promise(() => {}), 20)).rejects.toBeInstanceOf(RedisTimeoutError);
    } finally {
      redis.disconnect();
    }
  });
});

describe("REDIS_URL forms", () => {
  it("reads a redis-sentinel URL (sentinels, default port, name, node credentials) and refuses malformed ones without echoing them", () => {
    expect(parseRedisSentinelUrl("redis-sentinel://127.0.0.1:26379,10.0.0.2,[::1]:26381/mymaster")).toEqual({
      sentinels: [{ host: "127.0.0.1", port: 26379 }, { host: "10.0.0.2", port: 26379 }, { host: "::1", port: 26381 }],
      name: "mymaster",
    });
    expect(parseRedisSentinelUrl("redis-sentinel://app:s%40cret@h1:1/weft")).toEqual({ sentinels: [{ host: "h1", port: 1 }], name: "weft", username: "app", password: "s@cret" });
    expect(parseRedisSentinelUrl("redis://127.0.0.1:6379")).toBeUndefined();
    for (const bad of ["redis-sentinel://h1:1", "redis-sentinel://h1:99999/m", "redis-sentinel://:pw@h 1:1/m"]) {
      expect(() => parseRedisSentinelUrl(bad), bad).toThrow(TypeError);
      expect(isRedisUrl(bad), bad).toBe(false);
    }
    expect([isRedisUrl("redis://127.0.0.1:6379"), isRedisUrl("rediss://h:1"), isRedisUrl("redis-sentinel://h:1/m"), isRedisUrl("http://h:1")]).toEqual([true, true, true, false]);
  });

  it("slotPrefix puts a prefix in a hash tag once", () => {
    expect(slotPrefix("weft:inventory:v1:")).toBe("{weft:inventory:v1:}");
    expect(slotPrefix("{weft}:inventory:")).toBe("{weft}:inventory:");
    // An empty tag `{}` hashes the whole key in Redis Cluster: it is not a tag.
    expect(slotPrefix("a{}b:")).toBe("{a{}b:}");
  });
});
