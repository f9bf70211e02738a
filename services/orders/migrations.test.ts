// Migrations on real PostgreSQL and on PGlite: from an empty database, from the previous schema with
// orders in it, and from two processes at once (the advisory lock: each migration applied once).

import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, describe, expect, it } from "vitest";
import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { OrderSchema, OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/orders/test-postgres.ts";
import { createPgliteClient, createPostgresClient, createSqlOrderStore, migrateOrders, ORDERS_MIGRATIONS, orderEvent, schemaVersion, type SqlClient } from "./index.ts";

const CHILD = fileURLToPath(new URL("../../test/support/orders/orders-child.ts", import.meta.url));
const NEWEST = ORDERS_MIGRATIONS.at(-1)!.version;
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function postgres(label: string): Promise<{ database: TestDatabase; db: SqlClient }> {
  const database = await createTestDatabase(label);
  cleanups.push(() => database.drop());
  const db = createPostgresClient({ connectionString: database.url, maxConnections: 2 });
  cleanups.push(() => db.close());
  return { database, db };
}

/** Two children that connect, then migrate at the same moment; resolves with what each applied. */
async function migrateInTwoChildren(url: string): Promise<number[][]> {
  const children = [0, 1].map(() => spawn(process.execPath, [CHILD, "migrate", url], { stdio: ["pipe", "pipe", "inherit"] }));
  const outputs = children.map((child) => {
    let out = "";
    const ready = new Promise<void>((resolve) => child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.startsWith("ready\n")) resolve();
    }));
    const done = new Promise<number[]>((resolve, reject) =>
      child.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out.slice("ready\n".length))) : reject(new Error(`migrate exited with ${code}`)))),
    );
    return { ready, done };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const child of children) child.stdin!.end("go\n");
  return Promise.all(outputs.map((o) => o.done));
}

/** What version 1 of the schema held: an order without idempotency key, no outbox. */
async function insertV1Order(db: SqlClient, id: string): Promise<void> {
  await db.query("INSERT INTO orders (id, user_id, status, total_cents, items, created_at) VALUES ($1, 'old-user', 1, 1234, $2, now())", [
    id,
    JSON.stringify([{ productId: "prod-0001", productName: "Old", quantity: 2, unitPriceCents: "617" }]),
  ]);
}

/** From version 1 with an order in it to the newest; the old order reads back, a new one with a key and an outbox row lands. */
async function upgradeFromPrevious(db: SqlClient): Promise<void> {
  expect(await migrateOrders(db, { toVersion: 1 })).toEqual([1]);
  expect(await schemaVersion(db)).toBe(1);
  const oldId = randomUUID();
  await insertV1Order(db, oldId);
  expect(await migrateOrders(db)).toEqual(ORDERS_MIGRATIONS.slice(1).map((m) => m.version));
  expect(await schemaVersion(db)).toBe(NEWEST);

  const store = createSqlOrderStore({ db });
  const old = await store.get(oldId);
  expect(old?.totalCents).toBe(1234n);
  expect(old?.items[0]?.unitPriceCents).toBe(617n);
  const id = randomUUID();
  const createdAt = timestampFromDate(new Date());
  const order = create(OrderSchema, { id, userId: "old-user", status: OrderStatus.PLACED, totalCents: 9n, createdAt });
  const event = orderEvent(`order-placed:${id}`, OrderPlacedSchema, create(OrderPlacedSchema, { orderId: id, userId: "old-user" }));
  expect((await store.place(order, [event], "k1")).created).toBe(true);
  expect((await store.place(create(OrderSchema, { ...order, id: randomUUID() }), [event], "k1")).order.id).toBe(id);
  expect((await store.listByUser("old-user", 10)).map((o) => o.id)).toEqual([id, oldId]);
  expect(await db.query("SELECT id FROM outbox")).toEqual([{ id: `order-placed:${id}` }]);
}

describe("orders migrations (real PostgreSQL)", () => {
  it("from an empty database: applies every version once; running again applies nothing", async () => {
    const { db } = await postgres("empty");
    expect(await schemaVersion(db)).toBe(0);
    expect(await migrateOrders(db)).toEqual(ORDERS_MIGRATIONS.map((m) => m.version));
    expect(await migrateOrders(db)).toEqual([]);
    expect(await schemaVersion(db)).toBe(NEWEST);
  });

  it("from the previous schema with orders in it", async () => {
    await upgradeFromPrevious((await postgres("previous")).db);
  });

  it("two processes starting together: each migration is applied exactly once", async () => {
    const { database, db } = await postgres("concurrent");
    const [a, b] = await migrateInTwoChildren(database.url);
    expect([...a!, ...b!].sort()).toEqual(ORDERS_MIGRATIONS.map((m) => m.version));
    expect(await db.query("SELECT version FROM weft_schema_migrations ORDER BY version")).toEqual(ORDERS_MIGRATIONS.map((m) => ({ version: m.version })));
  });
});

describe("orders migrations and store (PGlite)", () => {
  it("from the previous schema, then the store's queries (the same SQL as on PostgreSQL)", { timeout: 90_000 }, async () => {
    const db = await createPgliteClient();
    cleanups.push(() => db.close());
    await upgradeFromPrevious(db);
    // The status compare-and-set with its event: two cancels, one wins.
    const store = createSqlOrderStore({ db });
    const [{ id }] = await db.query<{ id: string }>("SELECT id FROM orders WHERE idempotency_key = 'k1'");
    const cancel = () =>
      store.transition(id!, OrderStatus.PLACED, OrderStatus.CANCELLED, (o) => [
        orderEvent(`order-cancelled:${o.id}`, OrderPlacedSchema, create(OrderPlacedSchema, { orderId: o.id })),
      ]);
    const outcomes = await Promise.all([cancel(), cancel()]);
    expect(outcomes.filter((o) => o !== undefined)).toHaveLength(1);
    expect((await store.get(id!))?.status).toBe(OrderStatus.CANCELLED);
    expect(await db.query("SELECT id FROM outbox WHERE id LIKE 'order-cancelled:%'")).toEqual([{ id: `order-cancelled:${id}` }]);
  });
});
