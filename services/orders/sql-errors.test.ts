// Database errors as callers see them, provoked on real servers: the shared PostgreSQL (a database of
// this file's own) and a private one that is stopped and started again.

import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderSchema, OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
import { freePort } from "../../test/support/free-port.ts";
import { asUser, createRouterShop } from "../../test/support/shop/router-shop.ts";
import { privatePostgres } from "../../test/support/orders/private-postgres.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/orders/test-postgres.ts";
import { createPostgresClient, createSqlOrderStore, MAX_TRANSACTION_ATTEMPTS, migrateOrders, retryAborted, type SqlClient } from "./index.ts";

let database: TestDatabase;
let db: SqlClient;

beforeAll(async () => {
  database = await createTestDatabase("errors");
  db = createPostgresClient({ connectionString: database.url, maxConnections: 4 });
  await migrateOrders(db);
  await db.query("CREATE TABLE tally (n integer NOT NULL)");
});

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return err as ConnectError;
  }
  throw new Error("expected a failure");
}

function order(id: string = randomUUID()) {
  return create(OrderSchema, { id, userId: "u", status: OrderStatus.PLACED, totalCents: 5n, createdAt: timestampFromDate(new Date()) });
}

/** Two SERIALIZABLE transactions that each read the tally and then add to it: one of them must lose. */
function writeSkew(attempts: { count: number }, barrier: Promise<void>, arrived: () => void) {
  return db.transaction(async (tx) => {
    attempts.count++;
    await tx.query("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
    const [row] = await tx.query<{ total: number }>("SELECT coalesce(sum(n), 0)::int AS total FROM tally");
    arrived();
    await barrier;
    await tx.query("INSERT INTO tally (n) VALUES ($1)", [row!.total + 1]);
  });
}

function rendezvous(parties: number) {
  let waiting = parties;
  let open!: () => void;
  const barrier = new Promise<void>((resolve) => (open = resolve));
  return { barrier, arrived: () => void (--waiting <= 0 && open()) };
}

describe("database errors as Connect codes (real PostgreSQL)", () => {
  it("a unique violation is ALREADY_EXISTS, without the SQL or the constraint", async () => {
    const store = createSqlOrderStore({ db });
    const first = order();
    await store.place(first, [], "");
    const err = await failure(store.place(order(first.id), [], ""));
    expect(err.code).toBe(Code.AlreadyExists);
    expect(err.rawMessage).not.toMatch(/orders_pkey|INSERT|duplicate key/i);
  });

  it("a serialization failure is ABORTED; retried inside the service, both transactions land", async () => {
    const { barrier, arrived } = rendezvous(2);
    const attempts = { count: 0 };
    const outcomes = await Promise.allSettled([writeSkew(attempts, barrier, arrived), writeSkew(attempts, barrier, arrived)]);
    const rejected = outcomes.filter((o) => o.status === "rejected").map((o) => (o as PromiseRejectedResult).reason as ConnectError);
    expect(rejected.map((e) => e.code)).toEqual([Code.Aborted]);
    expect(rejected[0]!.rawMessage).not.toMatch(/serializ|tally/i);

    // The same race through retryAborted: the loser runs again, after the winner committed.
    await db.query("DELETE FROM tally");
    const again = rendezvous(2);
    const retried = { count: 0 };
    await Promise.all([0, 1].map(() => retryAborted(() => writeSkew(retried, again.barrier, again.arrived))));
    expect(retried.count).toBe(3);
    expect((await db.query<{ n: number }>("SELECT n FROM tally ORDER BY n")).map((r) => r.n)).toEqual([1, 2]);
  });

  it("retries at most MAX_TRANSACTION_ATTEMPTS times, then ABORTED reaches the caller", async () => {
    let calls = 0;
    const err = await failure(retryAborted(async () => {
      calls++;
      throw Object.assign(new Error("could not serialize access"), { code: "40001" });
    }));
    expect(err.code).toBe(Code.Aborted);
    expect(calls).toBe(MAX_TRANSACTION_ATTEMPTS);
  });

  it("any other database error is INTERNAL with no SQL in the message", async () => {
    const err = await failure(db.query("SELEC broken FROM nowhere"));
    expect(err.code).toBe(Code.Internal);
    expect(err.rawMessage).toBe("order store failed");
  });

  it("no server at the address is UNAVAILABLE", async () => {
    const nobody = createPostgresClient({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/weft`, connectTimeoutMs: 2_000 });
    try {
      expect((await failure(nobody.query("SELECT 1"))).code).toBe(Code.Unavailable);
      expect((await failure(nobody.transaction(async (tx) => tx.query("SELECT 1")))).code).toBe(Code.Unavailable);
    } finally {
      await nobody.close();
    }
  });

  it("a connection lost between two statements of a transaction fails it UNAVAILABLE, and nothing is thrown at the process", { timeout: 60_000 }, async () => {
    const server = await privatePostgres();
    const lost: unknown[] = [];
    const client = createPostgresClient({ connectionString: server.url, maxConnections: 2, connectTimeoutMs: 1_000, onError: (err) => lost.push(err) });
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on("uncaughtException", onUncaught);
    try {
      const err = await failure(client.transaction(async (tx) => {
        await tx.query("SELECT 1");
        // No statement is running while the server goes away: the driver reports it as an 'error' event.
        await server.stop();
        await expect.poll(() => lost.length, { timeout: 10_000 }).toBeGreaterThan(0);
        await tx.query("SELECT 1");
      }));
      expect(err.code).toBe(Code.Unavailable);
      expect(uncaught).toEqual([]);
      await server.start();
      // The lost connection was destroyed, not returned to the pool.
      await expect.poll(() => client.query("SELECT 1").then(() => "ok", () => "failed"), { timeout: 20_000 }).toBe("ok");
    } finally {
      process.off("uncaughtException", onUncaught);
      await client.close();
      await server.dispose();
    }
  });

  it("PostgreSQL stopped under load: calls fail UNAVAILABLE, then recover when it is back, nothing lost", { timeout: 60_000 }, async () => {
    const server = await privatePostgres();
    const client = createPostgresClient({ connectionString: server.url, maxConnections: 4, connectTimeoutMs: 1_000 });
    const shop = await createRouterShop({ stock: [["prod-0001", 100]], ordersDb: client });
    const available = async () => (await shop.inventory.getStock({ productIds: ["prod-0001"] })).levels[0]!.available;
    const place = () => shop.orders.placeOrder({ items: [{ productId: "prod-0001", quantity: 1 }] }, asUser("outage-user"));
    try {
      const store = createSqlOrderStore({ db: client });
      const before = await Promise.all(Array.from({ length: 20 }, () => place().then((r) => r.order!.id)));
      expect(await available()).toBe(80n);

      await server.stop();
      const codes = await Promise.all(Array.from({ length: 10 }, () => place().then(() => "ok", (e: ConnectError) => Code[e.code])));
      expect(new Set(codes)).toEqual(new Set(["Unavailable"]));
      // Each failed order gave its reservation back.
      expect(await available()).toBe(80n);
      const getFailure = await failure(shop.orders.getOrder({ id: before[0]! }, asUser("outage-user")));
      expect(getFailure.code).toBe(Code.Unavailable);
      expect(getFailure.rawMessage).toBe("order store unavailable");

      await server.start();
      await expect.poll(() => store.get(before[0]!).then((o) => o?.id, () => undefined), { timeout: 20_000 }).toBe(before[0]);
      const listed = (await shop.orders.listOrders({ pageSize: 100 }, asUser("outage-user"))).orders.map((o) => o.id);
      expect(listed.sort()).toEqual([...before].sort());
      await place();
      expect(await available()).toBe(79n);
    } finally {
      await shop.close();
      await client.close();
      await server.dispose();
    }
  });
});
