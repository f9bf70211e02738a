import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderSchema, OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
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
});
