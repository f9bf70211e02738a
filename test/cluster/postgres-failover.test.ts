// PostgreSQL failover under PlaceOrder load: the primary of a primary + synchronous standby pair
// (scripts/cluster/postgres-replica.ts) is SIGKILLed, the standby promoted; the orders client, given both
// hosts, fails UNAVAILABLE for the gap and recovers on the new primary, and the outbox loses nothing:
// every order a caller saw placed has its OrderPlaced in JetStream exactly once.

import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { createJetStreamEventBus, eventNames } from "../../mesh/events/index.ts";
import { startPostgresReplica, type PostgresReplicaCluster } from "../../scripts/cluster/postgres-replica.ts";
import { createPostgresClient, type SqlClient } from "../../services/orders/index.ts";
import { asUser, createRouterShop } from "../support/shop/router-shop.ts";
import { natsUrl } from "../support/servers.ts";

const prefix = `pgfo${randomBytes(4).toString("hex")}`;
const names = eventNames(OrderPlacedSchema, prefix);
/** Load bounds: workers, attempts in all, and the whole run's time. */
const WORKERS = 4;
const MAX_ATTEMPTS = 3_000;
const MAX_RUN_MS = 25_000;
/** Orders placed before the kill, and after the first success on the new primary. */
const BEFORE = 40;
const AFTER = 40;
/** The operator's (or Patroni's) reaction time between the crash and the promotion. */
const PROMOTE_AFTER_MS = 500;

let cluster: PostgresReplicaCluster;
let nc: NatsConnection;
let db: SqlClient;

beforeAll(async () => {
  cluster = await startPostgresReplica({ database: "weft" });
  nc = await connect({ servers: natsUrl() });
  db = createPostgresClient({ connectionString: cluster.url, connectTimeoutMs: 1_000, maxConnections: 8 });
});

afterAll(async () => {
  await db?.close().catch(() => {});
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(names.stream).catch(() => {});
  await jsm.streams.delete(names.deadLetterStream).catch(() => {});
  await nc.close();
  await cluster?.stop();
});

/** Order ids of every OrderPlaced the stream stores, one entry per stored message. */
async function storedOrderIds(): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(names.stream);
  const ids: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const msg = await jsm.streams.getMessage(names.stream, { seq }).catch(() => null);
    // The outbox row id, which the relay publishes as the message id: order-placed:<order id>.
    const id = msg?.header?.get("Nats-Msg-Id");
    if (id?.startsWith("order-placed:")) ids.push(id.slice("order-placed:".length));
  }
  return ids;
}

describe("PostgreSQL primary killed, standby promoted, under PlaceOrder load", () => {
  it("PlaceOrder fails UNAVAILABLE for the gap, recovers on the new primary, and every placed order's event reaches JetStream once", async () => {
    const events = await createJetStreamEventBus({ source: "orders", connection: nc, prefix, publishTimeoutMs: 5_000 });
    const shop = await createRouterShop({ events, ordersDb: db, stock: [["prod-0001", 1_000_000]] });
    try {
      const placed = new Set<string>();
      const codes = new Map<string, number>();
      let attempts = 0;
      let killedAt: number | undefined;
      let deadAt: number | undefined;
      let promotedAt: number | undefined;
      let recoveredAt: number | undefined;
      let afterRecovery = 0;
      const started = performance.now();
      const done = () => afterRecovery >= AFTER || attempts >= MAX_ATTEMPTS || performance.now() - started > MAX_RUN_MS;

      const worker = async (n: number) => {
        while (!done()) {
          attempts++;
          const startedAt = performance.now();
          try {
            const { order } = await shop.orders.placeOrder({ items: [{ productId: "prod-0001", quantity: 1 }] }, { ...asUser(`pg-failover-${n}`), timeoutMs: 5_000 });
            placed.add(order!.id);
            // Recovered: an attempt that began once the primary was gone succeeded.
            if (deadAt !== undefined && startedAt > deadAt && recoveredAt === undefined) recoveredAt = performance.now();
            if (recoveredAt !== undefined) afterRecovery++;
          } catch (err) {
            const code = Code[ConnectError.from(err).code];
            codes.set(code, (codes.get(code) ?? 0) + 1);
            // The pool answers at once while no host is the primary: pace the retries.
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      };
      const drill = (async () => {
        while (placed.size < BEFORE && !done()) await new Promise((resolve) => setTimeout(resolve, 10));
        killedAt = performance.now();
        await cluster.killPrimary();
        deadAt = performance.now();
        await new Promise((resolve) => setTimeout(resolve, PROMOTE_AFTER_MS));
        await cluster.promote();
        promotedAt = performance.now();
      })();
      await Promise.all([...Array.from({ length: WORKERS }, (_, n) => worker(n)), drill]);

      expect(killedAt, "the primary was killed").toBeDefined();
      expect(recoveredAt, `PlaceOrder recovered on the new primary (failures: ${JSON.stringify(Object.fromEntries(codes))})`).toBeDefined();
      expect(afterRecovery).toBeGreaterThanOrEqual(AFTER);
      // Every failure is UNAVAILABLE: a caller may retry (with its idempotency key) elsewhere or later.
      expect(Object.fromEntries(codes)).toEqual({ Unavailable: expect.any(Number) });
      const gapMs = Math.round(recoveredAt! - killedAt!);
      console.log(`postgres failover: PlaceOrder gap ${gapMs} ms from the kill (its port closed after ${Math.round(deadAt! - killedAt!)} ms) (promotion ${Math.round(promotedAt! - killedAt!)} ms after it, first order ${Math.round(recoveredAt! - promotedAt!)} ms after the promotion); ${placed.size} placed, ${codes.get("Unavailable")} UNAVAILABLE of ${attempts} attempts`);

      // The outbox: every placed order's event is stored once (orders whose commit the caller did not see may add their own).
      let stored: string[] = [];
      await expect.poll(async () => {
        stored = await storedOrderIds();
        return [...placed].filter((id) => !stored.includes(id)).length;
      }, { timeout: 15_000, interval: 250 }).toBe(0);
      const counts = new Map<string, number>();
      for (const id of stored) counts.set(id, (counts.get(id) ?? 0) + 1);
      expect([...counts].filter(([, n]) => n > 1), "an order's event stored twice").toEqual([]);
      // And every stored event's order is in the new primary.
      const rows = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::text[])", [stored]);
      expect(rows[0]!.n).toBe(stored.length);
    } finally {
      await shop.close();
      await events.close();
    }
  });
});
