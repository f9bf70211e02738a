import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderSchema, OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
import { createOrderBook } from "./order-book.ts";
import { storeKinds } from "../../test/support/shop/store-kinds.ts";
import { connectRedis } from "../../test/support/shop/test-redis.ts";

let redis: Redis;
const { books, cleanup } = storeKinds(() => redis);
beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  await cleanup();
  await redis.quit();
});

const order = (id: string, userId: string) =>
  create(OrderSchema, {
    id,
    userId,
    items: [{ productId: "prod-0001", productName: "Oak kettle", quantity: 2, unitPriceCents: 1250n }],
    totalCents: 2500n,
    status: OrderStatus.PLACED,
    createdAt: timestampFromDate(new Date(1_700_000_000_000)),
  });

// One behaviour suite, run against every implementation of the OrderBook contract.
describe.each(books)("order book ($name)", ({ make }) => {
  it("stores, reads back equal copies, and refuses a taken id", async () => {
    const book = make();
    const placed = order("o-1", "u");
    await book.add(placed);
    const read = await book.get("o-1");
    expect(read).toEqual(placed);
    read!.totalCents = 1n; // a copy: the stored order does not change
    expect((await book.get("o-1"))?.totalCents).toBe(2500n);
    expect(await book.get("o-2")).toBeUndefined();
    expect(((await book.add(order("o-1", "u")).catch((e) => e)) as ConnectError).code).toBe(Code.AlreadyExists);
  });

  it("lists a user's orders newest first, bounded by the limit, and forgets removed ones", async () => {
    const book = make();
    for (let i = 1; i <= 5; i++) await book.add(order(`o-${i}`, "lister"));
    await book.add(order("other", "someone-else"));
    expect((await book.listByUser("lister", 10)).map((o) => o.id)).toEqual(["o-5", "o-4", "o-3", "o-2", "o-1"]);
    expect((await book.listByUser("lister", 2)).map((o) => o.id)).toEqual(["o-5", "o-4"]);
    await book.remove("o-4");
    await book.remove("never-there");
    expect(await book.get("o-4")).toBeUndefined();
    expect((await book.listByUser("lister", 3)).map((o) => o.id)).toEqual(["o-5", "o-3", "o-2"]);
    expect(await book.listByUser("nobody", 5)).toEqual([]);
  });

  it("moves a status by compare-and-set: of 10 concurrent cancels exactly one claims the order", async () => {
    const book = make();
    await book.add(order("o-1", "u"));
    const claims = await Promise.all(Array.from({ length: 10 }, () => book.transition("o-1", OrderStatus.PLACED, OrderStatus.CANCELLED)));
    const winners = claims.filter((c) => c !== undefined);
    expect(winners).toHaveLength(1);
    expect(winners[0]?.status).toBe(OrderStatus.CANCELLED);
    expect((await book.get("o-1"))?.status).toBe(OrderStatus.CANCELLED);
    expect((await book.listByUser("u", 1))[0]?.status).toBe(OrderStatus.CANCELLED);
    expect(await book.transition("missing", OrderStatus.PLACED, OrderStatus.CANCELLED)).toBeUndefined();
    expect((await book.transition("o-1", OrderStatus.CANCELLED, OrderStatus.PLACED))?.status).toBe(OrderStatus.PLACED);
  });

  it("an idempotency key places one order: the same key again returns the first and stores nothing", async () => {
    const book = make();
    expect(await book.add(order("o-1", "u"), "key-1")).toEqual({ order: order("o-1", "u"), created: true });
    const again = await book.add(order("o-2", "u"), "key-1");
    expect([again.order.id, again.created]).toEqual(["o-1", false]);
    expect(await book.get("o-2")).toBeUndefined();
    expect((await book.listByUser("u", 10)).map((o) => o.id)).toEqual(["o-1"]);
    expect((await book.findByKey("u", "key-1"))?.id).toBe("o-1");
    // The stored order as it is now, not as it was placed.
    await book.transition("o-1", OrderStatus.PLACED, OrderStatus.CANCELLED);
    expect((await book.add(order("o-3", "u"), "key-1")).order.status).toBe(OrderStatus.CANCELLED);
    // No key: every add is an order of its own.
    for (const id of ["o-4", "o-5"]) expect((await book.add(order(id, "u"), "")).created).toBe(true);
    expect(await book.findByKey("u", "")).toBeUndefined();
    expect(await book.findByKey("u", "never-used")).toBeUndefined();
  });

  it("scopes a key to its user, as SQL's UNIQUE (user_id, idempotency_key): no (user, key) pair spells another", async () => {
    const book = make();
    const pairs: Array<[string, string]> = [["a", "b:c"], ["a:b", "c"], ["a:", "b:c"], ["v", "key-1"], ["w", "key-1"]];
    for (const [i, [userId, key]] of pairs.entries()) expect((await book.add(order(`o-${i}`, userId), key)).created).toBe(true);
    for (const [i, [userId, key]] of pairs.entries()) expect((await book.findByKey(userId, key))?.id).toBe(`o-${i}`);
  });

  it("of 10 racing adds with one key exactly one stores its order, and all answer with it", async () => {
    const book = make();
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => book.add(order(`race-${i}`, "u"), "racing")));
    expect(outcomes.filter((o) => o.created)).toHaveLength(1);
    const winner = outcomes.find((o) => o.created)!.order.id;
    expect(new Set(outcomes.map((o) => o.order.id))).toEqual(new Set([winner]));
    expect((await book.listByUser("u", 20)).map((o) => o.id)).toEqual([winner]);
  });

  it("forgets a removed order's key (its place failed), and a key after its retention", async () => {
    const book = make();
    await book.add(order("o-1", "u"), "undone");
    await book.remove("o-1");
    expect(await book.findByKey("u", "undone")).toBeUndefined();
    expect((await book.add(order("o-2", "u"), "undone")).created).toBe(true);
    // Removing an order that another key does not name leaves that key alone.
    await book.add(order("o-3", "u"), "kept");
    await book.remove("o-2");
    expect((await book.findByKey("u", "kept"))?.id).toBe("o-3");

    const brief = make({ idempotencyTtlMs: 300 });
    await brief.add(order("o-1", "u"), "brief");
    await expect.poll(() => brief.findByKey("u", "brief"), { timeout: 10_000, interval: 50 }).toBeUndefined();
    // The order stays; only its key is forgotten, so the key places a new one.
    expect(await brief.get("o-1")).toBeDefined();
    expect((await brief.add(order("o-2", "u"), "brief")).created).toBe(true);
  });
});

describe("in-memory order book retention", () => {
  it("remembers at most idempotencyKeyLimit keys, forgetting the oldest first", async () => {
    const book = createOrderBook({ idempotencyKeyLimit: 3 });
    for (let i = 1; i <= 4; i++) await book.add(order(`o-${i}`, "u"), `key-${i}`);
    expect(await book.findByKey("u", "key-1")).toBeUndefined();
    for (const i of [2, 3, 4]) expect((await book.findByKey("u", `key-${i}`))?.id).toBe(`o-${i}`);
    expect(() => createOrderBook({ idempotencyKeyLimit: 0 })).toThrow(/options\.idempotencyKeyLimit must be a positive integer/);
    expect(() => createOrderBook({ idempotencyTtlMs: 1.5 })).toThrow(/options\.idempotencyTtlMs must be a positive integer/);
  });
});

