import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type StockChanged, StockChangedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { createMemoryEventBus, type EventBus } from "../../mesh/events/index.ts";
import { rejection } from "../../test/support/shop/router-shop.ts";
import { createInventoryService } from "./inventory-service.ts";
import { type LedgerKind, storeKinds } from "../../test/support/shop/store-kinds.ts";
import { connectRedis } from "../../test/support/shop/test-redis.ts";
import { violationsOf } from "../../test/support/violations.ts";

let redis: Redis;
const { ledgers: kinds, cleanup } = storeKinds(() => redis);
beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  await cleanup();
  await redis.quit();
});

const buses: EventBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

async function inventoryWith(kind: LedgerKind, stock: Array<[string, number]>) {
  const events = createMemoryEventBus({ source: "inventory-test" });
  buses.push(events);
  const seen: StockChanged[] = [];
  await events.subscribe(StockChangedSchema, "test", async (event) => {
    seen.push(event);
  });
  const ledger = await kind.make(stock);
  const transport = createRouterTransport((router) =>
    router.service(InventoryService, createInventoryService({ ledger, events })),
  );
  return { client: createClient(InventoryService, transport), seen };
}

/** Waits until `check` passes (events are delivered asynchronously). */
async function eventually(check: () => void, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

describe.each(kinds)("InventoryService ($name ledger)", (kind) => {
  const inventory = (stock: Array<[string, number]>) => inventoryWith(kind, stock);

  it("never oversells: 300 parallel reservations of a product with 25 units", async () => {
    const { client, seen } = await inventory([["hot", 25], ["cold", 1000]]);
    const results = await Promise.allSettled(
      Array.from({ length: 300 }, (_, i) =>
        client.reserve({ reservationId: `order-${i}`, items: [{ productId: "hot", quantity: 1 + (i % 2) }, { productId: "cold", quantity: 1 }] }),
      ),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    for (const r of lost) expect((r as PromiseRejectedResult).reason.code).toBe(Code.FailedPrecondition);
    const unitsTaken = results.reduce((sum, r, i) => sum + (r.status === "fulfilled" ? 1 + (i % 2) : 0), 0);
    const { levels } = await client.getStock({ productIds: ["hot", "cold"] });
    expect(levels[0].available).toBe(BigInt(25 - unitsTaken));
    expect(levels[0].available).toBeGreaterThanOrEqual(0n);
    expect(unitsTaken).toBeGreaterThanOrEqual(24);
    expect(levels[0].reserved).toBe(BigInt(unitsTaken));
    // All or nothing: "cold" went only to the winners.
    expect(levels[1].reserved).toBe(BigInt(won.length));
    await eventually(() => expect(seen.filter((e) => e.productId === "hot")).toHaveLength(won.length));
    expect(seen.every((e) => e.available >= 0n)).toBe(true);
  });

  it("is idempotent by reservation_id: the retry returns the first result and publishes nothing new", async () => {
    const { client, seen } = await inventory([["a", 10]]);
    const first = await client.reserve({ reservationId: "order-1", items: [{ productId: "a", quantity: 3 }] });
    const retries = await Promise.all(
      Array.from({ length: 5 }, () => client.reserve({ reservationId: "order-1", items: [{ productId: "a", quantity: 3 }] })),
    );
    for (const retry of retries) expect(retry.levels).toEqual(first.levels);
    expect((await client.getStock({ productIds: ["a"] })).levels[0].available).toBe(7n);
    await eventually(() => expect(seen).toHaveLength(1));
    expect(seen[0].delta).toBe(-3n);
    expect(seen[0].available).toBe(7n);
    const changed = await rejection(client.reserve({ reservationId: "order-1", items: [{ productId: "a", quantity: 4 }] }));
    expect(changed.code).toBe(Code.AlreadyExists);
  });

  it("releases once and restocks, publishing each change", async () => {
    const { client, seen } = await inventory([["a", 2]]);
    await client.reserve({ reservationId: "r", items: [{ productId: "a", quantity: 2 }] });
    expect((await rejection(client.reserve({ reservationId: "r2", items: [{ productId: "a", quantity: 1 }] }))).code).toBe(
      Code.FailedPrecondition,
    );
    expect((await client.release({ reservationId: "r" })).released).toBe(true);
    expect((await client.release({ reservationId: "r" })).released).toBe(false);
    expect((await client.release({ reservationId: "never" })).released).toBe(false);
    const { level } = await client.restock({ productId: "a", quantity: 5n });
    expect(level).toMatchObject({ available: 7n, reserved: 0n });
    await eventually(() => expect(seen.map((e) => e.delta)).toEqual([-2n, 2n, 5n]));
  });

  it("validates input, naming the field; NOT_FOUND names the unknown product", async () => {
    const { client } = await inventory([["a", 2]]);
    // A message for the service's own answers, [field, rule id] pairs for the contract's rules.
    const cases: Array<[() => Promise<unknown>, Code, string | Array<[string, string]>]> = [
      [() => client.reserve({ reservationId: "", items: [{ productId: "a", quantity: 1 }] }), Code.InvalidArgument, [["reservation_id", "string.min_len"]]],
      [() => client.reserve({ reservationId: "r", items: [] }), Code.InvalidArgument, [["items", "repeated.min_items"]]],
      [() => client.reserve({ reservationId: "r", items: [{ productId: "a", quantity: 0 }] }), Code.InvalidArgument, [["items[0].quantity", "int32.gt_lte"]]],
      [() => client.reserve({ reservationId: "r", items: [{ productId: "a", quantity: 1 }, { productId: "", quantity: 1 }] }), Code.InvalidArgument, [["items[1].product_id", "string.min_len"]]],
      [() => client.reserve({ reservationId: "r", items: [{ productId: "zz", quantity: 1 }] }), Code.NotFound, "product zz not found"],
      [() => client.getStock({ productIds: [] }), Code.InvalidArgument, [["product_ids", "repeated.min_items"]]],
      [() => client.getStock({ productIds: ["a", "b"] }), Code.NotFound, "product b not found"],
      [() => client.restock({ productId: "a", quantity: 0n }), Code.InvalidArgument, [["quantity", "int64.gt_lte"]]],
      [() => client.restock({ productId: "zz", quantity: 1n }), Code.NotFound, "product zz not found"],
      [() => client.release({ reservationId: "" }), Code.InvalidArgument, [["reservation_id", "string.min_len"]]],
    ];
    for (const [call, code, message] of cases) {
      const err = await rejection(call());
      if (typeof message === "string") expect([err.code, err.rawMessage]).toEqual([code, message]);
      else expect([err.code, violationsOf(err)]).toEqual([code, message]);
    }
  });
});
