import { describe, expect, it } from "vitest";
import { OrderPlacedSchema, StockChangedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import type { DeadLetter, EventMeta } from "./event-bus.ts";
import { createMemoryEventBus } from "./memory-event-bus.ts";

function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error("timed out waiting"));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

describe("createMemoryEventBus", () => {
  it("delivers each event once per consumer group, to one subscriber of the group", async () => {
    const bus = createMemoryEventBus({ source: "orders" });
    const a: string[] = [];
    const b: string[] = [];
    const other: string[] = [];
    await bus.subscribe(OrderPlacedSchema, "fulfillment", async (e) => void a.push(e.orderId));
    await bus.subscribe(OrderPlacedSchema, "fulfillment", async (e) => void b.push(e.orderId));
    await bus.subscribe(OrderPlacedSchema, "recommendations", async (e) => void other.push(e.orderId));
    for (let i = 0; i < 100; i++) await bus.publish(OrderPlacedSchema, { orderId: `o${i}` });
    await waitFor(() => a.length + b.length === 100 && other.length === 100);
    expect(new Set([...a, ...b]).size).toBe(100);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    await bus.close();
  });

  it("stores a publish repeated with the same id once", async () => {
    const bus = createMemoryEventBus();
    const seen: string[] = [];
    await bus.subscribe(OrderPlacedSchema, "c", async (e) => void seen.push(e.orderId));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 50; i++) await bus.publish(OrderPlacedSchema, { orderId: `o${i}` }, { id: `id-${i}` });
    }
    await waitFor(() => seen.length >= 50);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.length).toBe(50);
    await bus.close();
  });

  it("carries the envelope and redelivers on throw, then dead-letters after maxDeliver", async () => {
    const letters: DeadLetter[] = [];
    const bus = createMemoryEventBus({ source: "inventory", redeliveryDelayMs: 1, onDeadLetter: (l) => letters.push(l) });
    const metas: EventMeta[] = [];
    const good: string[] = [];
    await bus.subscribe(
      StockChangedSchema,
      "cache",
      async (e, meta) => {
        if (e.productId === "poison") {
          metas.push(meta);
          throw new Error("cannot parse stock");
        }
        good.push(e.productId);
      },
      { maxDeliver: 3 },
    );
    await bus.publish(StockChangedSchema, { productId: "poison" }, { id: "p1" });
    for (let i = 0; i < 10; i++) await bus.publish(StockChangedSchema, { productId: `p${i}`, available: 5n });
    await waitFor(() => letters.length === 1 && good.length === 10);
    expect(metas.map((m) => m.deliveryCount)).toEqual([1, 2, 3]);
    expect(metas[0]).toMatchObject({ id: "p1", type: "shop.events.v1.StockChanged", source: "inventory" });
    expect(letters[0]).toMatchObject({ consumer: "cache", reason: "cannot parse stock" });
    expect(letters[0].meta.deliveryCount).toBe(3);
    await bus.close();
  });

  it("bounds concurrency and drains the events in hand", async () => {
    const bus = createMemoryEventBus();
    let running = 0;
    let peak = 0;
    let done = 0;
    const sub = await bus.subscribe(
      OrderPlacedSchema,
      "slow",
      async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        done++;
      },
      { concurrency: 4 },
    );
    for (let i = 0; i < 40; i++) await bus.publish(OrderPlacedSchema, { orderId: `o${i}` });
    await waitFor(() => done >= 8);
    await sub.drain();
    expect(running).toBe(0);
    expect(peak).toBe(4);
    const after = done;
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(after);
    // Undelivered events wait for the group's next subscriber, like a durable consumer.
    await bus.subscribe(OrderPlacedSchema, "slow", async () => void done++);
    await waitFor(() => done === 40);
    await bus.close();
  });

  it("rejects bad options naming the field", async () => {
    const bus = createMemoryEventBus();
    await expect(bus.subscribe(OrderPlacedSchema, "c", async () => {}, { concurrency: 0 })).rejects.toThrow(
      "options.concurrency",
    );
    await expect(bus.subscribe(OrderPlacedSchema, "bad name", async () => {})).rejects.toThrow("consumer");
    expect(() => createMemoryEventBus({ redeliveryDelayMs: -1 })).toThrow("options.redeliveryDelayMs");
    expect(() => createMemoryEventBus({ redeliveryDelayMs: -1 })).toThrow(expect.objectContaining({ code: "WEFT_ERR_EVENTS_OPTIONS" }));
    await bus.close();
  });
});
