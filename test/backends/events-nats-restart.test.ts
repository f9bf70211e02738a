// NATS restarted (SIGKILL, then started again on the same store) while events are being published
// and consumed: every publish that was acknowledged is consumed. Uses a private nats-server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import type { EventBus } from "../../mesh/events/index.ts";
import { createJetStreamEventBus } from "../../mesh/events/index.ts";
import { privateNats, type PrivateServer } from "../support/private-servers.ts";
import { runId, sleep, waitUntil } from "./servers.ts";

const EVENTS = 3_000;

describe("JetStream event bus across a NATS restart (private nats-server)", () => {
  let nats: PrivateServer;
  const buses: EventBus[] = [];

  beforeAll(async () => {
    nats = await privateNats();
  });

  afterAll(async () => {
    await nats.stop();
    await Promise.all(buses.map((bus) => bus.close().catch(() => {})));
    await nats.dispose();
  });

  it("consumes every acknowledged publish", async () => {
    const prefix = runId();
    // Default pull expiry (30 s): the consumer must re-pull on reconnect rather than wait for it.
    const options = { servers: nats.url, prefix, ackWaitMs: 2_000, publishAttemptTimeoutMs: 500 };
    const publisher = await createJetStreamEventBus({ ...options, source: "orders", publishTimeoutMs: 8_000 });
    const consumer = await createJetStreamEventBus({ ...options, source: "fulfillment" });
    buses.push(publisher, consumer);
    const consumed = new Set<string>();
    await consumer.subscribe(OrderPlacedSchema, "fulfillment", async (_e, meta) => void consumed.add(meta.id), {
      concurrency: 32,
    });

    const acked = new Set<string>();
    let failed = 0;
    let next = 0;
    const publishing = Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < EVENTS) {
          const id = `${prefix}-e${next++}`;
          try {
            await publisher.publish(OrderPlacedSchema, { orderId: id }, { id });
            acked.add(id);
          } catch {
            failed++; // not acknowledged: the caller knows, nothing is promised
          }
          await sleep(1); // spread the publishing over the restart
        }
      }),
    );

    await waitUntil(() => acked.size >= EVENTS / 4, 20_000, "a quarter published");
    const consumedBefore = consumed.size;
    await nats.stop("SIGKILL");
    await sleep(1_000);
    await nats.start();
    await publishing;

    const restarted = performance.now();
    await waitUntil(() => [...acked].every((id) => consumed.has(id)), 15_000, "every acked publish consumed");
    console.log(`all ${acked.size} acked events consumed ${(performance.now() - restarted).toFixed(0)} ms after publishing ended`);
    expect(consumedBefore).toBeGreaterThan(0);
    expect(consumedBefore).toBeLessThan(EVENTS); // the restart really happened mid-stream
    // Publishes retried across the outage with the same id, so almost all of them were acknowledged.
    expect(acked.size + failed).toBe(EVENTS);
    expect(acked.size).toBeGreaterThan(EVENTS * 0.9);
    for (const id of acked) expect(consumed.has(id)).toBe(true);
  });
});
