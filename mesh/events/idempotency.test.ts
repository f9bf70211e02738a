import { create } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { runId } from "../../test/backends/servers.ts";
import type { EventMeta } from "./event-bus.ts";
import { createIdempotencyStore } from "./idempotency.ts";
import { redisUrl } from "../../test/support/servers.ts";

const REDIS = redisUrl();

describe("createIdempotencyStore (shared Redis)", () => {
  const prefix = `${runId()}:`;
  let redis: Redis;
  const meta = (id: string, deliveryCount = 1): EventMeta => ({
    id,
    type: "shop.events.v1.OrderPlaced",
    source: "orders",
    time: new Date(),
    deliveryCount,
  });

  beforeAll(() => {
    redis = new Redis(REDIS);
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it("wrap: a redelivered event does not run the handler again; a failed one does", async () => {
    const store = createIdempotencyStore({ redis, keyPrefix: `${prefix}processed:`, ttlMs: 60_000 });
    let effects = 0;
    let failNext = true;
    const handler = store.wrap<typeof OrderPlacedSchema>(async () => {
      if (failNext) {
        failNext = false;
        throw new Error("downstream unavailable");
      }
      effects++;
    });
    const event = create(OrderPlacedSchema, { orderId: "o1" });
    await expect(handler(event, meta("e1", 1))).rejects.toThrow("downstream unavailable");
    expect(await store.isProcessed("e1")).toBe(false); // not marked: the retry must run it
    await handler(event, meta("e1", 2));
    await handler(event, meta("e1", 3));
    expect(effects).toBe(1);
    expect(await store.isProcessed("e1")).toBe(true);
    const ttl = await redis.pttl(`${prefix}processed:e1`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("applyOnce: applies the commands and the mark atomically, once per id", async () => {
    const store = createIdempotencyStore({ redis, keyPrefix: `${prefix}applied:` });
    const commands = [
      ["HINCRBY", `${prefix}stock`, "p1", -2],
      ["RPUSH", `${prefix}log`, "o1 reserved 2"],
    ] as const;
    const results = await Promise.all(Array.from({ length: 20 }, () => store.applyOnce("e2", commands)));
    expect(results.filter(Boolean).length).toBe(1);
    expect(await redis.hget(`${prefix}stock`, "p1")).toBe("-2");
    expect(await redis.lrange(`${prefix}log`, 0, -1)).toEqual(["o1 reserved 2"]);
    expect(await store.isProcessed("e2")).toBe(true);
    expect(() => createIdempotencyStore({ redis, keyPrefix: "" })).toThrow("options.keyPrefix");
  });
});
