// Checkout is idempotent end to end by the client's key, whichever order store orders uses (PostgreSQL
// with its transactional outbox, the Redis book, the in-memory book): a retry after a lost reply, the
// same attempt sent twice at once, or the key in the Idempotency-Key header, all make one order, one
// OrderPlaced and one stock reservation.
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type OrderPlaced, OrderPlacedSchema, type StockChanged, StockChangedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { createMemoryEventBus } from "../../mesh/events/index.ts";
import { loadSeedStock } from "../inventory/index.ts";
import { createRouterShop, rejection } from "../../test/support/shop/router-shop.ts";
import { storeKinds } from "../../test/support/shop/store-kinds.ts";
import { connectRedis } from "../../test/support/shop/test-redis.ts";

let redis: Redis;
const kinds = storeKinds(() => redis);
beforeAll(async () => {
  redis = await connectRedis();
});
afterAll(async () => {
  await kinds.cleanup();
  await redis.quit();
});

describe.each(kinds.shops)("Checkout with an idempotency key ($name orders)", ({ make }) => {
  let shop: Awaited<ReturnType<typeof createRouterShop>>;
  let placed: OrderPlaced[];
  let stockChanges: StockChanged[];
  let token = "";

  beforeEach(async () => {
    placed = [];
    stockChanges = [];
    const events = createMemoryEventBus({ source: "checkout-idempotency-test" });
    await events.subscribe(OrderPlacedSchema, "checkout-idempotency-test", async (event) => void placed.push(event));
    await events.subscribe(StockChangedSchema, "checkout-idempotency-test", async (event) => void stockChanges.push(event));
    const stock = await loadSeedStock();
    shop = await createRouterShop({ events, stock, ...(await make(stock)) });
    const { accessToken } = await shop.gateway.signUp({ email: "idempotent@example.com", password: "s3cret-pass", displayName: "Twice" });
    token = accessToken;
  });
  afterEach(async () => {
    await shop?.close();
  });

  const signedIn = (headers: Record<string, string> = {}) => ({ headers: { authorization: `Bearer ${token}`, ...headers } });
  const items = [{ productId: "prod-0007", quantity: 1 }];

  async function myOrderIds(): Promise<string[]> {
    return (await shop.gateway.listMyOrders({ pageSize: 100 }, signedIn())).orders.map((o) => o.id);
  }

  /** Settles when every order listed has its OrderPlaced (the outbox relay's, or the book's publish), then counts them per order. */
  async function placedCounts(orderIds: readonly string[]): Promise<number[]> {
    await expect.poll(() => orderIds.every((id) => placed.some((e) => e.orderId === id))).toBe(true);
    return orderIds.map((id) => placed.filter((e) => e.orderId === id).length);
  }

  async function available(productId: string): Promise<bigint> {
    return (await shop.inventory.getStock({ productIds: [productId] })).levels[0]!.available;
  }

  it("a retry after a lost reply (answered, then the client's connection cut) is the same order, reserved once", async () => {
    let cut = true;
    // The gateway answers, but the reply never reaches the client: the client sees a network failure.
    const lossy = createClient(GatewayService, {
      stream: shop.transport.stream,
      async unary(...args: Parameters<Transport["unary"]>) {
        const res = await shop.transport.unary(...args);
        if (cut) {
          cut = false;
          throw new ConnectError("connection reset by peer", Code.Unavailable);
        }
        return res;
      },
    } as Transport);
    const attempt = { items, idempotencyKey: "lost-reply-1" };
    expect((await rejection(lossy.checkout(attempt, signedIn()))).code).toBe(Code.Unavailable);
    const retried = await lossy.checkout(attempt, signedIn());
    expect(await myOrderIds()).toEqual([retried.order!.id]);
    expect(await placedCounts([retried.order!.id])).toEqual([1]);
    // The retry found the order before reserving: one reservation of the product, none given back.
    const changes = () => stockChanges.filter((c) => c.productId === "prod-0007").map((c) => c.delta);
    await expect.poll(changes).toEqual([-1n]);
  });

  it("the same attempt sent at once and again afterwards is one order, one OrderPlaced, its stock taken once", async () => {
    const before = await available("prod-0008");
    const attempt = { items: [{ productId: "prod-0008", quantity: 2 }], idempotencyKey: "racing-1" };
    const racing = await Promise.all([0, 1, 2, 3].map(() => shop.gateway.checkout(attempt, signedIn())));
    const again = await shop.gateway.checkout(attempt, signedIn());
    const ids = new Set([...racing, again].map((r) => r.order!.id));
    expect(ids.size).toBe(1);
    expect(await myOrderIds()).toEqual([...ids]);
    expect(await placedCounts([...ids])).toEqual([1]);
    // The copies that lost gave their reservations back.
    await expect.poll(() => available("prod-0008")).toBe(before - 2n);
  });

  it("cancelled mid-flight at any point, then re-sent: exactly one order per attempt", async () => {
    const answers: string[] = [];
    for (const delayMs of [0, 1, 3, 6, 10, 20]) {
      const attempt = { items, idempotencyKey: `cut-at-${delayMs}` };
      const controller = new AbortController();
      const first = shop.gateway.checkout(attempt, { ...signedIn(), signal: controller.signal });
      setTimeout(() => controller.abort(), delayMs);
      await first.catch(() => undefined);
      answers.push((await shop.gateway.checkout(attempt, signedIn())).order!.id);
    }
    expect((await myOrderIds()).sort()).toEqual([...answers].sort());
    expect(new Set(answers).size).toBe(answers.length);
    expect(await placedCounts(answers)).toEqual(answers.map(() => 1));
  });

  it("takes the key from the Idempotency-Key header too, refuses a key reused for other items, and scopes keys per user", async () => {
    const byHeader = await shop.gateway.checkout({ items }, signedIn({ "idempotency-key": '"header-key-1"' }));
    const byField = await shop.gateway.checkout({ items, idempotencyKey: "header-key-1" }, signedIn());
    expect(byField.order!.id).toBe(byHeader.order!.id);
    const both = await rejection(shop.gateway.checkout({ items, idempotencyKey: "other" }, signedIn({ "idempotency-key": "header-key-1" })));
    expect([both.code, both.rawMessage]).toEqual([Code.InvalidArgument, "idempotency_key: differs from the Idempotency-Key header"]);
    const reused = await rejection(shop.gateway.checkout({ items: [{ productId: "prod-0009", quantity: 1 }], idempotencyKey: "header-key-1" }, signedIn()));
    expect(reused.code).toBe(Code.AlreadyExists);
    // Without a key, every Checkout is a new order.
    const [a, b] = [await shop.gateway.checkout({ items }, signedIn()), await shop.gateway.checkout({ items }, signedIn())];
    expect(a.order!.id).not.toBe(b.order!.id);
    // Another user's key of the same name is that user's own order.
    const other = await shop.gateway.signUp({ email: "someone-else@example.com", password: "s3cret-pass", displayName: "Other" });
    const theirs = await shop.gateway.checkout({ items, idempotencyKey: "header-key-1" }, { headers: { authorization: `Bearer ${other.accessToken}` } });
    expect(theirs.order!.id).not.toBe(byHeader.order!.id);
    expect(theirs.order!.userId).not.toBe(byHeader.order!.userId);
  });
});
