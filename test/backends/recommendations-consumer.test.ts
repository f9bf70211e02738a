// The recommendations order consumer killed mid-batch (SIGKILL between recording an order and acking
// it), against the shared NATS and Redis with unique names: every order is in the model exactly once.
import { type ChildProcess, fork } from "node:child_process";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { createJetStreamEventBus, eventNames } from "../../mesh/events/index.ts";
import { loadSeedProducts } from "../../services/catalog/index.ts";
import { createRedisOrderLog, unpackOrders } from "../../services/recommendations/index.ts";
import { trainRecommendations } from "../../services/recommendations/train-task.ts";
import { shareCatalogue } from "../../services/recommendations/shared-catalogue.ts";
import { natsUrl, redisUrl } from "../support/servers.ts";
import { runId, waitUntil } from "./servers.ts";

const ORDERS = 600;
const USERS = 40;

describe("recommendations consumer killed mid-batch (shared NATS + Redis)", () => {
  const prefix = runId();
  const keyPrefix = `${prefix}:recommendations:v1:`;
  let nc: NatsConnection;
  let redis: Redis;
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    const jsm = await jetstreamManager(nc);
    const names = eventNames(OrderPlacedSchema, prefix);
    await jsm.streams.delete(names.stream).catch(() => {});
    await jsm.streams.delete(names.deadLetterStream).catch(() => {});
    const keys = await redis.keys(`*${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await nc.close();
    await redis.quit();
  });

  const startConsumer = (killAfter: number) => {
    const child = fork(new URL("./fixtures/recommendations-consumer.ts", import.meta.url), {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: { ...process.env, NATS_URL: natsUrl(), REDIS_URL: redisUrl(), PREFIX: prefix, KEY_PREFIX: keyPrefix, KILL_AFTER: String(killAfter), REPEATS_KEY: `${prefix}:repeats` },
    });
    children.add(child);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => (children.delete(child), resolve(signal))));
    return { child, exited };
  };

  it("counts no order twice and loses none when consumers are killed (SIGKILL) between record and ack", { timeout: 90_000 }, async () => {
    const products = await loadSeedProducts();
    const bus = await createJetStreamEventBus({ connection: nc, source: "orders", prefix });
    const bought = new Map<string, number>();
    for (let i = 0; i < ORDERS; i++) {
      const productIds = [products[i % 97]!.id, products[(i * 13) % 211]!.id];
      for (const id of productIds) bought.set(id, (bought.get(id) ?? 0) + 1);
      await bus.publish(
        OrderPlacedSchema,
        { orderId: `o${i}`, userId: `u${i % USERS}`, items: productIds.map((productId) => ({ productId, quantity: 1, unitPriceCents: 100n })), placedAt: { seconds: BigInt(1_700_000_000 + i) } },
        { id: `order-placed:o${i}` },
      );
    }
    // Two consumers kill themselves mid-batch (32 events in hand), right after recording, before the ack...
    for (const killAfter of [150, 200]) {
      const run = startConsumer(killAfter);
      expect(await run.exited).toBe("SIGKILL");
    }
    // ...and a third finishes the work, including the redeliveries of what the others had in hand.
    const last = startConsumer(0);
    const log = createRedisOrderLog({ redis, keyPrefix });
    await waitUntil(async () => (await log.count()) >= ORDERS, 30_000, "every order recorded");
    const jsm = await jetstreamManager(nc);
    const names = eventNames(OrderPlacedSchema, prefix);
    await waitUntil(
      async () => {
        const info = await jsm.consumers.info(names.stream, "recommendations_shop_events_v1_OrderPlaced").catch(() => undefined);
        return info !== undefined && info.num_pending === 0 && info.num_ack_pending === 0;
      },
      15_000,
      "every delivery acked",
    );
    last.child.kill("SIGTERM");
    await last.exited;
    await bus.close();

    // The killed consumers' unacked events came back and were recognised as recorded.
    expect(Number(await redis.get(`${prefix}:repeats`))).toBeGreaterThanOrEqual(2);
    const packed = await log.snapshot();
    const recorded = unpackOrders(packed);
    expect(recorded).toHaveLength(ORDERS);
    const model = trainRecommendations({ products: shareCatalogue(products), orders: packed, version: 1 });
    expect(model.info.orders).toBe(ORDERS);
    expect(model.info.users).toBe(USERS);
    const sold = new Map<string, number>();
    for (const order of recorded) for (const id of order.productIds) sold.set(id, (sold.get(id) ?? 0) + 1);
    expect(sold).toEqual(bought);
  });
});
