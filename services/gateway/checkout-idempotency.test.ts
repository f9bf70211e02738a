// Checkout is idempotent end to end by the client's key: a retry after a lost reply, the same attempt
// sent twice at once, or the key in the Idempotency-Key header, all make one order and one OrderPlaced
// (orders in PostgreSQL, OrderPlaced through the transactional outbox).
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OrderPlaced, OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { createMemoryEventBus } from "../../mesh/events/index.ts";
import { createPostgresClient } from "../orders/index.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/orders/test-postgres.ts";
import { createRouterShop, rejection } from "../../test/support/shop/router-shop.ts";

let database: TestDatabase;
let shop: Awaited<ReturnType<typeof createRouterShop>>;
const placed: OrderPlaced[] = [];
let token = "";

beforeAll(async () => {
  database = await createTestDatabase("checkout");
  const events = createMemoryEventBus({ source: "checkout-idempotency-test" });
  await events.subscribe(OrderPlacedSchema, "checkout-idempotency-test", async (event) => void placed.push(event));
  shop = await createRouterShop({ events, ordersDb: createPostgresClient({ connectionString: database.url, maxConnections: 4 }) });
  const { accessToken } = await shop.gateway.signUp({ email: "idempotent@example.com", password: "s3cret-pass", displayName: "Twice" });
  token = accessToken;
});
afterAll(async () => {
  await shop?.close();
  await database?.drop();
});

const signedIn = (headers: Record<string, string> = {}) => ({ headers: { authorization: `Bearer ${token}`, ...headers } });
const items = [{ productId: "prod-0007", quantity: 1 }];

async function myOrderIds(): Promise<string[]> {
  return (await shop.gateway.listMyOrders({ pageSize: 100 }, signedIn())).orders.map((o) => o.id);
}

/** Settles when the outbox relay has published every order listed, then counts OrderPlaced per order. */
async function placedCounts(orderIds: readonly string[]): Promise<number[]> {
  await expect.poll(() => orderIds.every((id) => placed.some((e) => e.orderId === id))).toBe(true);
  return orderIds.map((id) => placed.filter((e) => e.orderId === id).length);
}

describe("Checkout with an idempotency key", () => {
  it("a retry after a lost reply (answered, then the client's connection cut) is the same order", async () => {
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
    const before = await myOrderIds();
    const attempt = { items, idempotencyKey: "lost-reply-1" };
    expect((await rejection(lossy.checkout(attempt, signedIn()))).code).toBe(Code.Unavailable);
    const retried = await lossy.checkout(attempt, signedIn());
    const after = await myOrderIds();
    expect(after.filter((id) => !before.includes(id))).toEqual([retried.order!.id]);
    expect(await placedCounts([retried.order!.id])).toEqual([1]);
  });

  it("the same attempt sent at once and again afterwards is one order, one OrderPlaced", async () => {
    const before = await myOrderIds();
    const attempt = { items: [{ productId: "prod-0008", quantity: 2 }], idempotencyKey: "racing-1" };
    const racing = await Promise.all([0, 1, 2, 3].map(() => shop.gateway.checkout(attempt, signedIn())));
    const again = await shop.gateway.checkout(attempt, signedIn());
    const ids = new Set([...racing, again].map((r) => r.order!.id));
    expect(ids.size).toBe(1);
    expect((await myOrderIds()).filter((id) => !before.includes(id))).toEqual([...ids]);
    expect(await placedCounts([...ids])).toEqual([1]);
  });

  it("cancelled mid-flight at any point, then re-sent: exactly one order per attempt", async () => {
    const before = await myOrderIds();
    const answers: string[] = [];
    for (const delayMs of [0, 1, 3, 6, 10, 20]) {
      const attempt = { items, idempotencyKey: `cut-at-${delayMs}` };
      const controller = new AbortController();
      const first = shop.gateway.checkout(attempt, { ...signedIn(), signal: controller.signal });
      setTimeout(() => controller.abort(), delayMs);
      await first.catch(() => undefined);
      answers.push((await shop.gateway.checkout(attempt, signedIn())).order!.id);
    }
    const created = (await myOrderIds()).filter((id) => !before.includes(id));
    expect(created.sort()).toEqual([...answers].sort());
    expect(new Set(answers).size).toBe(answers.length);
    expect(await placedCounts(answers)).toEqual(answers.map(() => 1));
  });

  it("takes the key from the Idempotency-Key header too, and refuses a key reused for other items", async () => {
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
  });
});
