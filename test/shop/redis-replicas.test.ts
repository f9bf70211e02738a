// Replicas of the stateful shop services sharing one Redis (the shared server of REDIS_URL, a unique key
// prefix per run): inventory never oversells and conserves stock across replicas, a reservation id is
// idempotent whichever replica sees it, abandoned reservations expire once, identity and orders agree
// across replicas; and with Redis down every store answers UNAVAILABLE without internals.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderPlacedSchema, type StockChanged, StockChangedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { IdentityService } from "../../gen/shop/identity/v1/identity_pb.ts";
import { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
import { createInlineComputePool } from "../../mesh/compute/index.ts";
import { createMemoryEventBus, type EventBus } from "../../mesh/events/index.ts";
import { createAccessTokens, createIdentityService, createRedisUserDirectory, generateSigningKeys } from "../../services/identity/index.ts";
import { createInventoryService, createRedisStockLedger, type RedisStockLedger, startReservationLifecycle } from "../../services/inventory/index.ts";
import { createRedisOrderBook } from "../../services/orders/index.ts";
import { asUser, createRouterShop, rejection, TEST_PASSWORD_PARAMS } from "../support/shop/router-shop.ts";
import { connectRedis, createTestPrefixes } from "../support/shop/test-redis.ts";
import { privateRedis } from "../support/private-servers.ts";

const prefixes = createTestPrefixes("replicas");
const connections: Redis[] = [];
const closers: Array<() => Promise<unknown>> = [];
let admin: Redis;

beforeAll(async () => {
  admin = await connectRedis();
});
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await prefixes.cleanup(admin);
  await Promise.all([admin, ...connections].map((c) => c.quit().catch(() => {})));
});

/** A replica's own connection (separate processes would each have one). */
async function connection(): Promise<Redis> {
  const redis = await connectRedis();
  connections.push(redis);
  return redis;
}

function bus(): EventBus {
  const events = createMemoryEventBus({ source: "replicas-test" });
  closers.push(() => events.close());
  return events;
}

/** `count` inventory replicas over one Redis ledger prefix, each with its own connection, on one shared bus. */
async function inventoryReplicas(count: number, stock: Array<[string, number]>, events: EventBus, reservationTtlMs?: number) {
  const keyPrefix = prefixes.next();
  const replicas: Array<{ ledger: RedisStockLedger; client: ReturnType<typeof createClient<typeof InventoryService>> }> = [];
  for (let i = 0; i < count; i++) {
    const ledger = createRedisStockLedger({ redis: await connection(), keyPrefix, reservationTtlMs });
    await ledger.seedIfAbsent(stock); // every replica seeds at start-up; only the first one adds
    const transport = createRouterTransport((router) => router.service(InventoryService, createInventoryService({ ledger, events })));
    replicas.push({ ledger, client: createClient(InventoryService, transport) });
  }
  return replicas;
}

/** available + reserved of `productId`, read atomically. */
async function total(ledger: RedisStockLedger, productId: string): Promise<bigint> {
  const [level] = await ledger.levels([productId]);
  return level!.available + level!.reserved;
}

describe("inventory replicas sharing one Redis", () => {
  it("never oversell under 200 concurrent reservations of a low-stock product, and conserve reserved + available", async () => {
    const events = bus();
    const [a, b] = await inventoryReplicas(2, [["hot", 17], ["cold", 1000]], events);
    const before = await a.ledger.levels(["hot", "cold"]);
    expect(before.map((l) => l?.available)).toEqual([17n, 1000n]);

    // While reservations race (alternating replicas) and some winners release, sample the totals.
    let sampling = true;
    const samples: bigint[] = [];
    const sampler = (async () => {
      while (sampling) {
        samples.push(await total(b.ledger, "hot"));
        await sleep(1);
      }
    })();
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, async (_, i) => {
        const replica = i % 2 === 0 ? a : b;
        const quantity = 1 + (i % 3 === 0 ? 1 : 0);
        const reply = await replica.client.reserve({
          reservationId: `order-${i}`,
          items: [{ productId: "hot", quantity }, { productId: "cold", quantity: 1 }],
        });
        for (const level of reply.levels) expect(level.available).toBeGreaterThanOrEqual(0n);
        if (i % 5 === 0) await (i % 2 === 0 ? b : a).client.release({ reservationId: `order-${i}` }); // released on the other replica
        return { quantity, released: i % 5 === 0 };
      }),
    );
    sampling = false;
    await sampler;

    for (const r of results) if (r.status === "rejected") expect(r.reason.code).toBe(Code.FailedPrecondition);
    const held = results.flatMap((r) => (r.status === "fulfilled" && !r.value.released ? [r.value.quantity] : []));
    const heldUnits = BigInt(held.reduce((sum, q) => sum + q, 0));
    const [hot, cold] = await a.ledger.levels(["hot", "cold"]);
    expect(hot).toEqual({ productId: "hot", available: 17n - heldUnits, reserved: heldUnits });
    expect(hot!.available).toBeGreaterThanOrEqual(0n);
    // Demand (~267 units) far exceeds stock: some were refused, and the replicas granted (nearly) all of it.
    expect(results.some((r) => r.status === "rejected")).toBe(true);
    const granted = results.reduce((sum, r) => sum + (r.status === "fulfilled" ? r.value.quantity : 0), 0);
    expect(granted).toBeGreaterThanOrEqual(16);
    expect(cold).toEqual({ productId: "cold", available: 1000n - BigInt(held.length), reserved: BigInt(held.length) });
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.every((s) => s === 17n)).toBe(true);
  });

  it("are idempotent by reservation_id across replicas: one taking, one set of events, the same levels", async () => {
    const events = bus();
    const seen: StockChanged[] = [];
    await events.subscribe(StockChangedSchema, "test", async (event) => {
      seen.push(event);
    });
    const [a, b] = await inventoryReplicas(2, [["p", 10]], events);
    const request = { reservationId: "order-42", items: [{ productId: "p", quantity: 3 }] };
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).client.reserve(request)));
    for (const reply of replies) expect(reply.levels).toEqual(replies[0].levels);
    expect(replies[0].levels[0]).toMatchObject({ available: 7n, reserved: 3n });
    expect((await a.ledger.levels(["p"]))[0]).toEqual({ productId: "p", available: 7n, reserved: 3n });
    await expect.poll(() => seen.length).toBe(1);
    await sleep(50);
    expect(seen.map((e) => [e.delta, e.available])).toEqual([[-3n, 7n]]);
    // Other items under the same id: ALREADY_EXISTS from either replica.
    expect((await rejection(b.client.reserve({ ...request, items: [{ productId: "p", quantity: 4 }] }))).code).toBe(Code.AlreadyExists);
    // Released on one replica, released once.
    expect((await b.client.release({ reservationId: "order-42" })).released).toBe(true);
    expect((await a.client.release({ reservationId: "order-42" })).released).toBe(false);
    expect((await a.ledger.levels(["p"]))[0]).toEqual({ productId: "p", available: 10n, reserved: 0n });
  });

  it("expire an abandoned reservation once, returning its stock, while placed orders keep theirs", async () => {
    const events = bus();
    const seen: StockChanged[] = [];
    await events.subscribe(StockChangedSchema, "test", async (event) => {
      seen.push(event);
    });
    const [a, b] = await inventoryReplicas(2, [["p", 5]], events, 300);
    // Each replica runs the lifecycle; the timer is slow so that the test drives the sweeps.
    // Each lifecycle's confirmations are recorded (read-only), so the test sees what OrderPlaced did
    // without confirming anything itself.
    const confirmations: Array<[string, string]> = [];
    const recording = (ledger: RedisStockLedger): RedisStockLedger => ({
      ...ledger,
      async confirm(reservationId) {
        const outcome = await ledger.confirm(reservationId);
        confirmations.push([reservationId, outcome.status]);
        return outcome;
      },
    });
    const lifecycles = await Promise.all(
      [a, b].map((r) => startReservationLifecycle({ ledger: recording(r.ledger), events, consumer: "inventory-reservations", sweepIntervalMs: 60_000 })),
    );
    for (const l of lifecycles) closers.push(() => l.close());

    await a.client.reserve({ reservationId: "placed", items: [{ productId: "p", quantity: 2 }] });
    await b.client.reserve({ reservationId: "abandoned", items: [{ productId: "p", quantity: 3 }] });
    // The order behind "placed" is stored: its OrderPlaced confirms the reservation (on whichever replica).
    await events.publish(OrderPlacedSchema, { orderId: "placed", userId: "u" });
    await expect.poll(() => confirmations).toEqual([["placed", "confirmed"]]);
    expect((await rejection(a.client.reserve({ reservationId: "r", items: [{ productId: "p", quantity: 1 }] }))).code).toBe(
      Code.FailedPrecondition,
    );

    await sleep(350);
    const swept = await Promise.all(lifecycles.map((l) => l.sweep())); // both replicas sweep at once
    expect(swept[0] + swept[1]).toBe(1);
    expect((await a.ledger.levels(["p"]))[0]).toEqual({ productId: "p", available: 3n, reserved: 2n });
    await expect.poll(() => seen.filter((e) => e.delta === 3n).length).toBe(1);
    expect(seen.find((e) => e.delta === 3n)?.available).toBe(3n);
    // The late compensating release of the abandoned order finds nothing to give back.
    expect((await b.client.release({ reservationId: "abandoned" })).released).toBe(false);
    expect((await a.ledger.levels(["p"]))[0]?.available).toBe(3n);
  });
});

describe("identity and orders replicas sharing one Redis", () => {
  it("see the same users: sign up on one, sign in on the other; one email, one user", async () => {
    const keyPrefix = prefixes.next();
    const tokens = createAccessTokens({ keys: await generateSigningKeys() });
    const compute = createInlineComputePool();
    closers.push(() => compute.close());
    const [a, b] = await Promise.all(
      [0, 1].map(async () => {
        const users = createRedisUserDirectory({ redis: await connection(), keyPrefix });
        const impl = createIdentityService({ compute, tokens, users, passwordParams: TEST_PASSWORD_PARAMS });
        return createClient(IdentityService, createRouterTransport((router) => router.service(IdentityService, impl)));
      }),
    );
    const { user } = await a.register({ email: "Ada@Example.com", password: "analytical-engine", displayName: "Ada" });
    const login = await b.login({ email: "ada@example.com", password: "analytical-engine" });
    expect(login.user?.id).toBe(user?.id);
    expect((await a.whoAmI({}, { headers: { authorization: `Bearer ${login.accessToken}` } })).user?.email).toBe("ada@example.com");
    expect((await rejection(b.register({ email: "ADA@example.com", password: "plank-tide-1", displayName: "x" }))).code).toBe(Code.AlreadyExists);
    const racing = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).register({ email: "race@example.com", password: "plank-tide-1", displayName: "R" })),
    );
    expect(racing.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of racing) if (r.status === "rejected") expect(r.reason.code).toBe(Code.AlreadyExists);
  });

  it("see the same orders: placed on one, listed and cancelled on the other; two cancels release once", async () => {
    const [ledgerPrefix, userPrefix, bookPrefix] = [prefixes.next(), prefixes.next(), prefixes.next()];
    const stock: Array<[string, number]> = [["prod-0001", 10], ["prod-0002", 3]];
    const events = bus();
    const shops = await Promise.all(
      [0, 1].map(async () => {
        const redis = await connection();
        const ledger = createRedisStockLedger({ redis, keyPrefix: ledgerPrefix });
        await ledger.seedIfAbsent(stock);
        const shop = await createRouterShop({
          events,
          ledger,
          users: createRedisUserDirectory({ redis, keyPrefix: userPrefix }),
          book: createRedisOrderBook({ redis, keyPrefix: bookPrefix }),
        });
        closers.push(() => shop.close());
        return shop;
      }),
    );
    const [a, b] = shops;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const shop = i % 2 === 0 ? a : b;
      ids.push((await shop.orders.placeOrder({ items: [{ productId: "prod-0002", quantity: 1 }] }, asUser("u"))).order!.id);
    }
    expect((await b.orders.listOrders({}, asUser("u"))).orders.map((o) => o.id)).toEqual([...ids].reverse());
    expect((await a.orders.getOrder({ id: ids[0] })).order?.status).toBe(OrderStatus.PLACED);
    expect((await a.inventory.getStock({ productIds: ["prod-0002"] })).levels[0].available).toBe(0n);
    const cancels = await Promise.all([a, b].map((shop) => shop.orders.cancelOrder({ id: ids[0], reason: "twice" })));
    for (const c of cancels) expect(c.order?.status).toBe(OrderStatus.CANCELLED);
    expect((await b.inventory.getStock({ productIds: ["prod-0002"] })).levels[0]).toMatchObject({ available: 1n, reserved: 2n });
    expect((await b.orders.getOrder({ id: ids[0] })).order?.status).toBe(OrderStatus.CANCELLED);
  });

  it("share idempotency keys: one key sent to both replicas at once is one order, its stock taken once", async () => {
    const [ledgerPrefix, bookPrefix] = [prefixes.next(), prefixes.next()];
    const events = bus();
    const replicas = await Promise.all(
      [0, 1].map(async () => {
        const redis = await connection();
        const ledger = createRedisStockLedger({ redis, keyPrefix: ledgerPrefix });
        await ledger.seedIfAbsent([["prod-0001", 20]]);
        const shop = await createRouterShop({ events, ledger, book: createRedisOrderBook({ redis, keyPrefix: bookPrefix }) });
        closers.push(() => shop.close());
        return shop;
      }),
    );
    const attempt = { items: [{ productId: "prod-0001", quantity: 2 }], idempotencyKey: "across-replicas" };
    const answers = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => replicas[i % 2]!.orders.placeOrder(attempt, asUser("u"))));
    const ids = new Set(answers.map((a) => a.order!.id));
    expect(ids.size).toBe(1);
    expect((await replicas[1]!.orders.listOrders({}, asUser("u"))).orders.map((o) => o.id)).toEqual([...ids]);
    // The copies that lost gave their reservations back.
    await expect.poll(async () => (await replicas[0]!.inventory.getStock({ productIds: ["prod-0001"] })).levels[0]!.available).toBe(18n);
  });
});

describe("stores with Redis down (private redis-server, killed)", () => {
  it("answer UNAVAILABLE naming the store, without Redis internals", async () => {
    const server = await privateRedis();
    closers.push(() => server.dispose());
    const redis = await connectRedis(server.url);
    connections.push(redis);
    const events = bus();
    const ledger = createRedisStockLedger({ redis, keyPrefix: "down:inventory:" });
    await ledger.seedIfAbsent([["p", 5]]);
    const compute = createInlineComputePool();
    closers.push(() => compute.close());
    const tokens = createAccessTokens({ keys: await generateSigningKeys() });
    const inventory = createClient(
      InventoryService,
      createRouterTransport((router) => router.service(InventoryService, createInventoryService({ ledger, events }))),
    );
    const identity = createClient(
      IdentityService,
      createRouterTransport((router) =>
        router.service(
          IdentityService,
          createIdentityService({ compute, tokens, users: createRedisUserDirectory({ redis, keyPrefix: "down:identity:" }), passwordParams: TEST_PASSWORD_PARAMS }),
        ),
      ),
    );
    const book = createRedisOrderBook({ redis, keyPrefix: "down:orders:" });
    await inventory.reserve({ reservationId: "before", items: [{ productId: "p", quantity: 1 }] });

    await server.stop("SIGKILL");
    const failures = [
      ["inventory store", await rejection(inventory.reserve({ reservationId: "after", items: [{ productId: "p", quantity: 1 }] }))],
      ["inventory store", await rejection(inventory.getStock({ productIds: ["p"] }))],
      ["inventory store", await rejection(inventory.release({ reservationId: "before" }))],
      ["inventory store", await rejection(inventory.restock({ productId: "p", quantity: 1n }))],
      ["user store", await rejection(identity.register({ email: "x@example.com", password: "plank-tide-1", displayName: "X" }))],
      ["user store", await rejection(identity.login({ email: "x@example.com", password: "plank-tide-1" }))],
      ["order store", await rejection(book.listByUser("u", 5))],
    ] as const;
    for (const [store, err] of failures) {
      expect([err.code, err.rawMessage]).toEqual([Code.Unavailable, `${store} is unavailable`]);
      expect(err.rawMessage).not.toMatch(/127\.0\.0\.1|ECONN|Connection|\d{4,}/);
    }
  });
});
