// Durability of the JetStream event bus against the shared NATS and Redis (unique names per run):
// publish dedupe over 10,000 events, and a consumer killed with SIGKILL between effect and ack.
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import type { EventBus } from "../../mesh/events/index.ts";
import { createJetStreamEventBus, eventNames } from "../../mesh/events/index.ts";
import { runId, sleep, waitUntil } from "./servers.ts";
import { natsUrl, redisUrl } from "../support/servers.ts";

const NATS = natsUrl();
const REDIS = redisUrl();
const EVENTS = 10_000;

/** Publishes `ids` with at most `inFlight` publishes outstanding. */
async function publishAll(bus: EventBus, ids: string[], inFlight = 256): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < ids.length) {
        const id = ids[next++];
        await bus.publish(OrderPlacedSchema, { orderId: id, totalCents: 100n }, { id });
      }
    }),
  );
}

describe("JetStream event durability (shared NATS + Redis)", () => {
  const prefixes: string[] = [];
  let nc: NatsConnection;
  let redis: Redis;
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    nc = await connect({ servers: NATS, noAsyncTraces: true });
    redis = new Redis(REDIS);
  });

  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    const jsm = await jetstreamManager(nc);
    for (const prefix of prefixes) {
      const names = eventNames(OrderPlacedSchema, prefix);
      await jsm.streams.delete(names.stream).catch(() => {});
      await jsm.streams.delete(names.deadLetterStream).catch(() => {});
      const keys = await redis.keys(`*${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    await nc.close();
    await redis.quit();
  });

  it("stores and consumes 10,000 events once each when every event is published 3 times with its id", async () => {
    const prefix = runId();
    prefixes.push(prefix);
    const bus = await createJetStreamEventBus({ connection: nc, source: "orders", prefix, pullExpiresMs: 1_000 });
    const ids = Array.from({ length: EVENTS }, (_, i) => `${prefix}-e${i}`);
    const deliveries = new Map<string, number>();
    const sub = await bus.subscribe(
      OrderPlacedSchema,
      "fulfillment",
      async (_event, meta) => void deliveries.set(meta.id, (deliveries.get(meta.id) ?? 0) + 1),
      { concurrency: 64 },
    );
    // Three rounds, and the third interleaves with the first two's ids in a different order.
    await publishAll(bus, ids);
    await publishAll(bus, ids);
    await publishAll(bus, [...ids].reverse());

    const jsm = await jetstreamManager(nc);
    const names = eventNames(OrderPlacedSchema, prefix);
    expect((await jsm.streams.info(names.stream)).state.messages).toBe(EVENTS);
    await waitUntil(() => deliveries.size === EVENTS, 30_000, "10,000 distinct deliveries");
    await waitUntil(
      async () => {
        const info = await jsm.consumers.info(names.stream, "fulfillment_shop_events_v1_OrderPlaced");
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      10_000,
      "every delivery acked",
    );
    expect([...deliveries.values()].filter((n) => n !== 1)).toEqual([]);
    expect(deliveries.size).toBe(EVENTS);
    await sub.drain();
    await bus.close();
  });

  it("loses nothing and repeats no side effect when the consumer is killed (SIGKILL) between effect and ack", async () => {
    const prefix = runId();
    prefixes.push(prefix);
    const effectsKey = `${prefix}:effects`;
    const repeatsKey = `${prefix}:repeats`;
    const startConsumer = (killAfter: number) => {
      const child = fork(new URL("./fixtures/crash-consumer.ts", import.meta.url), {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        env: {
          ...process.env,
          NATS_URL: NATS,
          REDIS_URL: REDIS,
          PREFIX: prefix,
          KILL_AFTER: String(killAfter),
          EFFECTS_KEY: effectsKey,
          REPEATS_KEY: repeatsKey,
          PROCESSED_PREFIX: `${prefix}:processed:`,
        },
      });
      children.add(child);
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once("exit", (_code, signal) => (children.delete(child), resolve(signal))),
      );
      const ready = new Promise<void>((resolve) => child.once("message", () => resolve()));
      return { child, exited, ready };
    };

    const bus = await createJetStreamEventBus({ connection: nc, source: "orders", prefix });
    const ids = Array.from({ length: EVENTS }, (_, i) => `${prefix}-e${i}`);
    const publishing = publishAll(bus, ids, 128);

    // Three consumers each kill themselves right after a side effect, before acking it...
    let kills = 0;
    for (const killAfter of [900, 1_500, 1_200]) {
      const run = startConsumer(killAfter);
      expect(await run.exited).toBe("SIGKILL");
      kills++;
    }
    // ...one is killed from outside at an arbitrary moment...
    const external = startConsumer(0);
    await external.ready;
    await waitUntil(async () => (await redis.hlen(effectsKey)) >= 5_500, 30_000, "progress before the external kill");
    external.child.kill("SIGKILL");
    expect(await external.exited).toBe("SIGKILL");
    kills++;
    // ...and the last one finishes the work.
    await publishing;
    const last = startConsumer(0);
    await waitUntil(async () => (await redis.hlen(effectsKey)) === EVENTS, 45_000, "every event's side effect");
    // Give redeliveries of anything unacked time to arrive (ack wait 1 s) and prove they change nothing.
    await sleep(1_500);
    last.child.kill("SIGTERM");
    await last.exited;

    const effects = await redis.hgetall(effectsKey);
    expect(kills).toBe(4);
    expect(Object.keys(effects).length).toBe(EVENTS); // 0 lost
    expect(Object.values(effects).filter((n) => n !== "1")).toEqual([]); // 0 duplicated side effects
    // The redelivered events really arrived and were recognised (at least the one per self-kill).
    expect(Number(await redis.get(repeatsKey))).toBeGreaterThanOrEqual(3);
    await bus.close();
  });
});
