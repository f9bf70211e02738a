import { Code, ConnectError } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type OrderCancelled, OrderCancelledSchema, type OrderPlaced, OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
import { createMemoryEventBus, type EventBus } from "../../mesh/events/index.ts";
import { asUser, createRouterShop, rejection } from "../../test/support/shop/router-shop.ts";
import { storeKinds, type TestLedgerOptions } from "../../test/support/shop/store-kinds.ts";
import { connectRedis } from "../../test/support/shop/test-redis.ts";
import { mergeLines, priceLines } from "./order-book.ts";
import { violationsOf } from "../../test/support/violations.ts";

const shops: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(shops.splice(0).map((shop) => shop.close()));
});

const stock: Array<[string, number]> = [["prod-0001", 10], ["prod-0002", 3], ["prod-0003", 0]];

let redis: Redis;
const kinds = storeKinds(() => redis);
beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  await kinds.cleanup();
  await redis.quit();
});

type RouterShop = Awaited<ReturnType<typeof createRouterShop>>;

async function available(shop: RouterShop, id: string): Promise<bigint> {
  return (await shop.inventory.getStock({ productIds: [id] })).levels[0].available;
}

describe("order pricing (pure)", () => {
  it("merges repeated products and prices from the catalogue", () => {
    expect(mergeLines([{ productId: "a", quantity: 1 }, { productId: "b", quantity: 2 }, { productId: "a", quantity: 3 }])).toEqual([
      { productId: "a", quantity: 4 },
      { productId: "b", quantity: 2 },
    ]);
    const products = [
      { id: "a", name: "A", priceCents: 250n },
      { id: "b", name: "B", priceCents: 1000n },
    ] as unknown as Parameters<typeof priceLines>[1];
    expect(priceLines([{ productId: "a", quantity: 4 }, { productId: "b", quantity: 2 }], products).totalCents).toBe(3000n);
    expect(() => priceLines([{ productId: "c", quantity: 1 }], products)).toThrow(ConnectError);
  });
});

describe.each(kinds.shops)("OrderService ($name stores)", ({ name, make }) => {
  const outbox = name === "postgres";
  async function shopWith(events?: EventBus, ledgerOptions?: TestLedgerOptions, sweepMs?: number): Promise<RouterShop> {
    const shop = await createRouterShop({ stock, events, ...(await make(stock, ledgerOptions)), reservationSweepIntervalMs: sweepMs });
    shops.push(shop);
    return shop;
  }

  it("prices from the catalog, reserves stock and publishes OrderPlaced", async () => {
    const events = createMemoryEventBus({ source: "orders-test" });
    const placed: OrderPlaced[] = [];
    await events.subscribe(OrderPlacedSchema, "test", async (event) => {
      placed.push(event);
    });
    const shop = await shopWith(events);
    const { product: p1 } = await shop.catalog.getProduct({ id: "prod-0001" });
    const { product: p2 } = await shop.catalog.getProduct({ id: "prod-0002" });
    // The body's user_id is ignored: the order is the end user's.
    const { order } = await shop.orders.placeOrder(
      { userId: "someone-else", items: [{ productId: "prod-0001", quantity: 2 }, { productId: "prod-0002", quantity: 1 }] },
      asUser("user-1"),
    );
    expect(order?.userId).toBe("user-1");
    expect(order?.status).toBe(OrderStatus.PLACED);
    expect(order?.items.map((i) => [i.productId, i.productName, i.quantity, i.unitPriceCents])).toEqual([
      ["prod-0001", p1?.name, 2, p1?.priceCents],
      ["prod-0002", p2?.name, 1, p2?.priceCents],
    ]);
    expect(order?.totalCents).toBe(2n * p1!.priceCents + p2!.priceCents);
    expect(await available(shop, "prod-0001")).toBe(8n);
    expect((await shop.orders.getOrder({ id: order!.id })).order?.totalCents).toBe(order?.totalCents);
    await expect.poll(() => placed.length).toBe(1);
    expect(placed[0]).toMatchObject({ orderId: order?.id, userId: "user-1", totalCents: order?.totalCents });
  });

  it("keeps downstream codes: NOT_FOUND for an unknown product, FAILED_PRECONDITION when out of stock, holding nothing", async () => {
    const shop = await shopWith();
    const unknown = await rejection(shop.orders.placeOrder({ items: [{ productId: "prod-9999", quantity: 1 }] }, asUser("u")));
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.rawMessage).toContain("prod-9999");
    const short = await rejection(
      shop.orders.placeOrder({ items: [{ productId: "prod-0001", quantity: 1 }, { productId: "prod-0002", quantity: 4 }] }, asUser("u")),
    );
    expect(short.code).toBe(Code.FailedPrecondition);
    expect(short.rawMessage).toContain("prod-0002");
    expect(await available(shop, "prod-0001")).toBe(10n);
    expect((await rejection(shop.orders.placeOrder({ items: [{ productId: "prod-0003", quantity: 1 }] }, asUser("u")))).code).toBe(
      Code.FailedPrecondition,
    );
    expect((await shop.orders.listOrders({}, asUser("u"))).orders).toEqual([]);
  });

  it.runIf(!outbox)("releases the stock when the order cannot be completed after reserving", async () => {
    const inner = createMemoryEventBus({ source: "orders-test" });
    const failing: EventBus = {
      publish: (schema, event, options) =>
        schema.typeName === OrderPlacedSchema.typeName
          ? Promise.reject(new ConnectError("event store unavailable", Code.Unavailable))
          : inner.publish(schema, event, options),
      subscribe: (schema, consumer, handler, options) => inner.subscribe(schema, consumer, handler, options),
      close: () => inner.close(),
    };
    const shop = await shopWith(failing);
    const err = await rejection(shop.orders.placeOrder({ items: [{ productId: "prod-0001", quantity: 4 }] }, asUser("u")));
    expect(err.code).toBe(Code.Unavailable);
    expect(await available(shop, "prod-0001")).toBe(10n);
    expect((await shop.orders.listOrders({}, asUser("u"))).orders).toEqual([]);
  });

  it.runIf(outbox)("keeps an order whose event the broker refuses: it waits in the outbox, the stock stays reserved", async () => {
    const inner = createMemoryEventBus({ source: "orders-test" });
    const failing: EventBus = {
      publish: (schema, event, options) =>
        schema.typeName === OrderPlacedSchema.typeName
          ? Promise.reject(new ConnectError("event store unavailable", Code.Unavailable))
          : inner.publish(schema, event, options),
      subscribe: (schema, consumer, handler, options) => inner.subscribe(schema, consumer, handler, options),
      close: () => inner.close(),
    };
    const shop = await shopWith(failing);
    const { order } = await shop.orders.placeOrder({ items: [{ productId: "prod-0001", quantity: 4 }] }, asUser("u"));
    expect(await available(shop, "prod-0001")).toBe(6n);
    expect((await shop.orders.listOrders({}, asUser("u"))).orders.map((o) => o.id)).toEqual([order!.id]);
  });

  it("a retried PlaceOrder with the same key is one order: stock reserved once, one OrderPlaced", async () => {
    const events = createMemoryEventBus({ source: "orders-test" });
    const placed: OrderPlaced[] = [];
    await events.subscribe(OrderPlacedSchema, "test", async (event) => void placed.push(event));
    const shop = await shopWith(events);
    const request = { items: [{ productId: "prod-0001", quantity: 2 }], idempotencyKey: "key-1" };
    const first = await shop.orders.placeOrder(request, asUser("u"));
    // A retry after a lost reply, and two more racing each other.
    const retries = await Promise.all([0, 1, 2].map(() => shop.orders.placeOrder(request, asUser("u"))));
    for (const retry of retries) expect(retry.order!.id).toBe(first.order!.id);
    // The same key from another user is that user's own order.
    const other = await shop.orders.placeOrder(request, asUser("v"));
    expect(other.order!.id).not.toBe(first.order!.id);
    expect((await shop.orders.listOrders({}, asUser("u"))).orders.map((o) => o.id)).toEqual([first.order!.id]);
    await expect.poll(() => available(shop, "prod-0001")).toBe(6n);
    await expect.poll(() => placed.length).toBe(2);
    expect(placed.filter((e) => e.orderId === first.order!.id)).toHaveLength(1);
  });

  it("cancels once: releases stock, publishes OrderCancelled; a second cancel is a no-op", async () => {
    const events = createMemoryEventBus({ source: "orders-test" });
    const cancelled: OrderCancelled[] = [];
    await events.subscribe(OrderCancelledSchema, "test", async (event) => {
      cancelled.push(event);
    });
    const shop = await shopWith(events);
    const { order } = await shop.orders.placeOrder({ items: [{ productId: "prod-0002", quantity: 3 }] }, asUser("u"));
    expect(await available(shop, "prod-0002")).toBe(0n);
    const first = await shop.orders.cancelOrder({ id: order!.id, reason: "changed my mind" });
    expect(first.order?.status).toBe(OrderStatus.CANCELLED);
    expect(await available(shop, "prod-0002")).toBe(3n);
    const second = await shop.orders.cancelOrder({ id: order!.id });
    expect(second.order?.status).toBe(OrderStatus.CANCELLED);
    expect(await available(shop, "prod-0002")).toBe(3n);
    await expect.poll(() => cancelled.length).toBe(1);
    expect(cancelled[0]).toMatchObject({ orderId: order?.id, reason: "changed my mind" });
    expect((await rejection(shop.orders.cancelOrder({ id: "nope" }))).code).toBe(Code.NotFound);
  });

  it("lists a user's orders newest first and validates input, naming the field", async () => {
    const shop = await shopWith();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await shop.orders.placeOrder({ items: [{ productId: "prod-0001", quantity: 1 }] }, asUser("lister"))).order!.id);
    }
    expect((await shop.orders.listOrders({}, asUser("lister"))).orders.map((o) => o.id)).toEqual(ids.reverse());
    expect((await shop.orders.listOrders({ pageSize: 2 }, asUser("lister"))).orders).toHaveLength(2);
    // A message for the service's own check, [field, rule id] pairs for the contract's rules.
    const cases: Array<[() => Promise<unknown>, string | Array<[string, string]>]> = [
      [() => shop.orders.placeOrder({ items: [] }, asUser("u")), [["items", "repeated.min_items"]]],
      [() => shop.orders.placeOrder({ items: [{ productId: "prod-0001", quantity: 1001 }] }, asUser("u")), [["items[0].quantity", "int32.gt_lte"]]],
      [
        () => shop.orders.placeOrder({ items: [{ productId: "prod-0001", quantity: 600 }, { productId: "prod-0001", quantity: 600 }] }, asUser("u")),
        "items: must not add up to more than 1000 units of prod-0001",
      ],
      [() => shop.orders.listOrders({ pageSize: 101 }, asUser("u")), [["page_size", "int32.gte_lte"]]],
      [() => shop.orders.getOrder({ id: "" }), [["id", "string.min_len"]]],
    ];
    for (const [call, message] of cases) {
      const err = await rejection(call());
      if (typeof message === "string") expect([err.code, err.rawMessage]).toEqual([Code.InvalidArgument, message]);
      else expect([err.code, violationsOf(err)]).toEqual([Code.InvalidArgument, message]);
    }
    // No end user: refused, whatever user_id the body names.
    for (const call of [() => shop.orders.placeOrder({ userId: "u", items: [{ productId: "prod-0001", quantity: 1 }] }), () => shop.orders.listOrders({ userId: "u" })]) {
      expect((await rejection(call())).code).toBe(Code.Unauthenticated);
    }
  });

  it("keeps a placed order's stock past the reservation TTL (OrderPlaced confirms it); an abandoned reservation's comes back", async () => {
    const shop = await shopWith(undefined, { reservationTtlMs: 200 }, 20);
    await shop.orders.placeOrder({ items: [{ productId: "prod-0002", quantity: 2 }] }, asUser("u"));
    // A reservation whose order never came (orders crashed between reserve and storing the order).
    await shop.inventory.reserve({ reservationId: "crashed-order", items: [{ productId: "prod-0001", quantity: 4 }] });
    expect(await available(shop, "prod-0001")).toBe(6n);
    await expect.poll(() => available(shop, "prod-0001"), { timeout: 2_000, interval: 20 }).toBe(10n);
    expect((await shop.inventory.getStock({ productIds: ["prod-0002"] })).levels[0]).toMatchObject({ available: 1n, reserved: 2n });
  });
});
