// The outbox against real PostgreSQL and real JetStream: an orders process killed between commit and
// publish, a relay that crashed between publish and mark, and two replicas' relays sharing the rows.

import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { OrderSchema, OrderStatus } from "../../gen/shop/orders/v1/orders_pb.ts";
import { createJetStreamEventBus, EnvelopeHeaders, type EventBus, eventNames } from "../../mesh/events/index.ts";
import { natsUrl } from "../../test/support/servers.ts";
import { createTestDatabase, type TestDatabase } from "../../test/support/orders/test-postgres.ts";
import { createPostgresClient, createSqlOrderStore, migrateOrders, ORDER_EVENT_SCHEMAS, orderEvent, type SqlClient, startOutboxRelay } from "./index.ts";

const CHILD = fileURLToPath(new URL("../../test/support/orders/orders-child.ts", import.meta.url));
const prefix = `ob${randomBytes(4).toString("hex")}`;
const names = eventNames(OrderPlacedSchema, prefix);

let database: TestDatabase;
let nc: NatsConnection;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  database = await createTestDatabase("relay");
  nc = await connect({ servers: natsUrl() });
  const db = client();
  await migrateOrders(db);
});

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(names.stream).catch(() => {});
  await jsm.streams.delete(names.deadLetterStream).catch(() => {});
  await nc.close();
  await database.drop();
});

function client(): SqlClient {
  const db = createPostgresClient({ connectionString: database.url, maxConnections: 4 });
  closers.push(() => db.close());
  return db;
}

async function bus(): Promise<EventBus> {
  const made = await createJetStreamEventBus({ source: "orders", connection: nc, prefix, publishTimeoutMs: 5_000 });
  closers.push(() => made.close());
  return made;
}

/** Every publish on the subject as core NATS sees it (JetStream's dedupe hides repeats from the stream, not from here). */
function watchPublishes(): Map<string, number> {
  const seen = new Map<string, number>();
  const sub = nc.subscribe(names.subject, {
    callback: (_err, msg) => {
      const id = msg.headers?.get(EnvelopeHeaders.id) || msg.headers?.get("Nats-Msg-Id") || "";
      seen.set(id, (seen.get(id) ?? 0) + 1);
    },
  });
  closers.push(async () => sub.unsubscribe());
  return seen;
}

/** Messages the stream stored with each event id (read back through an ordered consumer). */
async function storedIds(ids: readonly string[]): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const stored: string[] = [];
  const wanted = new Set(ids);
  const info = await jsm.streams.info(names.stream);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const msg = await jsm.streams.getMessage(names.stream, { seq }).catch(() => null);
    const id = msg?.header?.get("Nats-Msg-Id");
    if (id && wanted.has(id)) stored.push(id);
  }
  return stored;
}

/** Unsent rows among `ids` (tests run in any order: never count another test's rows). */
async function unsent(db: SqlClient, ids: readonly string[]): Promise<number> {
  const [row] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL AND id = ANY($1::text[])", [ids]);
  return row!.n;
}

/** A bus that only notes the id of each publish, in order. */
function recordingBus(published: string[]): EventBus {
  return {
    publish: async (_schema, _message, options) => {
      published.push(options!.id!);
      return { id: options!.id! };
    },
    subscribe: () => Promise.reject(new Error("unused")),
    close: async () => {},
  };
}

function placed(userId: string) {
  const id = randomUUID();
  const createdAt = timestampFromDate(new Date());
  const message = create(OrderPlacedSchema, { orderId: id, userId, totalCents: 1n, placedAt: createdAt });
  return {
    order: create(OrderSchema, { id, userId, status: OrderStatus.PLACED, totalCents: 1n, createdAt }),
    message,
    events: [orderEvent(`order-placed:${id}`, OrderPlacedSchema, message)],
  };
}

describe("outbox relay (PostgreSQL, JetStream)", () => {
  it("an orders process SIGKILLed after its commit, before any publish: a new relay publishes the event exactly once", async () => {
    const db = client();
    const child = spawn(process.execPath, [CHILD, "place", database.url, "killed-user"], { stdio: ["ignore", "pipe", "inherit"] });
    const orderId = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = /committed (\S+)\n/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.once("exit", (code) => reject(new Error(`child exited with ${code} before committing`)));
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    const id = `order-placed:${orderId}`;
    expect(await unsent(db, [id])).toBe(1);

    const seen = watchPublishes();
    const relay = startOutboxRelay({ db, events: await bus(), schemas: ORDER_EVENT_SCHEMAS, pollIntervalMs: 50 });
    closers.push(() => relay.stop());
    await expect.poll(() => unsent(db, [id]), { timeout: 10_000 }).toBe(0);
    await relay.stop();
    expect(seen.get(id)).toBe(1);
    expect(await storedIds([id])).toEqual([id]);
  });

  it("a relay that published and crashed before marking: the next publish of the row is stored once", async () => {
    const db = client();
    const events = await bus();
    const store = createSqlOrderStore({ db });
    const { order, message, events: outboxEvents } = placed("crashed-relay-user");
    await store.place(order, outboxEvents, "");
    const id = outboxEvents[0]!.id;
    // What the crashed relay did before it died: the publish, with the row id, and no mark.
    const seen = watchPublishes();
    await events.publish(OrderPlacedSchema, message, { id });
    expect(await unsent(db, [id])).toBe(1);

    const relay = startOutboxRelay({ db, events, schemas: ORDER_EVENT_SCHEMAS, pollIntervalMs: 50 });
    closers.push(() => relay.stop());
    await expect.poll(() => unsent(db, [id]), { timeout: 10_000 }).toBe(0);
    await relay.stop();
    expect(seen.get(id)).toBe(2);
    expect(await storedIds([id])).toEqual([id]);
  });

  it("two replicas with a relay each: every event is published exactly once", async () => {
    const replicas = await Promise.all([0, 1].map(async () => {
      const db = client();
      const relay = startOutboxRelay({ db, events: await bus(), schemas: ORDER_EVENT_SCHEMAS, pollIntervalMs: 20, batchSize: 5 });
      closers.push(() => relay.stop());
      return { db, relay, store: createSqlOrderStore({ db, onOutboxWrite: relay.wake }) };
    }));
    const seen = watchPublishes();
    const ids: string[] = [];
    // 120 orders, alternating replicas, 8 at a time: both relays keep waking and claiming at once.
    for (let batch = 0; batch < 15; batch++) {
      await Promise.all(Array.from({ length: 8 }, async (_, i) => {
        const { order, events } = placed(`replica-user-${i}`);
        ids.push(events[0]!.id);
        await replicas[(batch + i) % 2]!.store.place(order, events, "");
      }));
    }
    await expect.poll(() => unsent(replicas[0]!.db, ids), { timeout: 15_000 }).toBe(0);
    await Promise.all(replicas.map(({ relay }) => relay.stop()));
    const counts = ids.map((id) => seen.get(id) ?? 0);
    expect(counts.filter((n) => n !== 1)).toEqual([]);
    expect((await storedIds(ids)).sort()).toEqual([...ids].sort());
  });

  it("deletes sent rows past their retention, never unsent ones", async () => {
    const db = client();
    const store = createSqlOrderStore({ db });
    const ids: string[] = [];
    for (const userId of ["prune-a", "prune-b"]) {
      const { order, events } = placed(userId);
      await store.place(order, events, "");
      ids.push(events[0]!.id);
    }
    // One row sent long ago, one never sent: a relay whose publishes all fail must delete only the first.
    await db.query("UPDATE outbox SET sent_at = now() - interval '2 hours' WHERE id = $1", [ids[0]]);
    const refusing: EventBus = { publish: () => Promise.reject(new Error("broker down")), subscribe: () => Promise.reject(new Error("unused")), close: async () => {} };
    const relay = startOutboxRelay({ db, events: refusing, schemas: ORDER_EVENT_SCHEMAS, pollIntervalMs: 20, sentRetentionMs: 3_600_000 });
    closers.push(() => relay.stop());
    const present = async () => (await db.query<{ id: string }>("SELECT id FROM outbox WHERE id = ANY($1::text[])", [ids])).map((r) => r.id);
    await expect.poll(present).toEqual([ids[1]]);
    await relay.stop();
    expect(await unsent(db, [ids[1]!])).toBe(1);
  });

  it("publishes rows in seq order across a digit boundary (regression: seq was sorted as text, 10 before 9)", async () => {
    const fresh = await createTestDatabase("relayorder");
    closers.push(() => fresh.drop());
    const db = createPostgresClient({ connectionString: fresh.url, maxConnections: 2 });
    closers.push(() => db.close());
    await migrateOrders(db);
    const store = createSqlOrderStore({ db });
    // A new database numbers its rows from 1: twelve rows cross from 9 to 10.
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const { order, events } = placed(`order-seq-${i}`);
      await store.place(order, events, "");
      ids.push(events[0]!.id);
    }
    const published: string[] = [];
    const recording = recordingBus(published);
    const relay = startOutboxRelay({ db, events: recording, schemas: ORDER_EVENT_SCHEMAS, pollIntervalMs: 20 });
    closers.push(() => relay.stop());
    await expect.poll(() => published.length).toBe(ids.length);
    await relay.stop();
    expect(published).toEqual(ids);
  });

  it("commits that follow a wake within the batch window go out in one pass", async () => {
    const db = client();
    let passes = 0;
    const counted: SqlClient = { ...db, transaction: (work) => db.transaction(work).finally(() => passes++) };
    const published: string[] = [];
    const recording = recordingBus(published);
    const relay = startOutboxRelay({ db: counted, events: recording, schemas: ORDER_EVENT_SCHEMAS, pollIntervalMs: 60_000, batchWindowMs: 1_000 });
    closers.push(() => relay.stop());
    await expect.poll(() => passes).toBe(1);
    const store = createSqlOrderStore({ db, onOutboxWrite: relay.wake });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { order, events } = placed(`batch-${i}`);
      await store.place(order, events, "");
      ids.push(events[0]!.id);
    }
    await expect.poll(() => ids.every((id) => published.includes(id))).toBe(true);
    expect(passes).toBe(2);
    await relay.stop();
  });

  it("stops at once while it waits for the next poll, and a second stop is a no-op", async () => {
    const db = client();
    const relay = startOutboxRelay({ db, events: await bus(), schemas: ORDER_EVENT_SCHEMAS, pollIntervalMs: 60_000 });
    // A stop during the long poll wait resolves at once rather than after the interval.
    await relay.stop();
    await relay.stop();
  });
});
