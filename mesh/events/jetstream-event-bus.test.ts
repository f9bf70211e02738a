import { AsyncLocalStorage } from "node:async_hooks";
import { Code } from "@connectrpc/connect";
import { context, propagation, ROOT_CONTEXT, trace, TraceFlags } from "@opentelemetry/api";
import type { Context, ContextManager, TextMapPropagator } from "@opentelemetry/api";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { OrderPlacedSchema, StockChangedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { runId, waitUntil } from "../../test/backends/servers.ts";
import { EnvelopeHeaders } from "./envelope.ts";
import type { DeadLetter, EventBus, EventMeta } from "./event-bus.ts";
import { eventNames } from "./event-names.ts";
import { createJetStreamEventBus } from "./jetstream-event-bus.ts";
import { createEventFlows, type EventFlows } from "./event-flows.ts";
import { natsUrl } from "../../test/support/servers.ts";

const NATS = natsUrl();

// A minimal W3C trace-context propagator and AsyncLocalStorage context manager: the mesh only talks
// to @opentelemetry/api, and the SDK is not needed to show the context crosses the broker.
class TestContextManager implements ContextManager {
  readonly #als = new AsyncLocalStorage<Context>();
  active = () => this.#als.getStore() ?? ROOT_CONTEXT;
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A) {
    return this.#als.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable() {
    return this;
  }
  disable() {
    this.#als.disable();
    return this;
  }
}
const testPropagator: TextMapPropagator = {
  inject(ctx, carrier, setter) {
    const sc = trace.getSpanContext(ctx);
    if (sc) setter.set(carrier, "traceparent", `00-${sc.traceId}-${sc.spanId}-01`);
  },
  extract(ctx, carrier, getter) {
    const value = getter.get(carrier, "traceparent");
    const m = typeof value === "string" ? /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(value) : null;
    if (!m) return ctx;
    return trace.setSpanContext(ctx, { traceId: m[1], spanId: m[2], traceFlags: TraceFlags.SAMPLED, isRemote: true });
  },
  fields: () => ["traceparent"],
};

describe("createJetStreamEventBus (shared NATS)", () => {
  // Every test gets its own streams (a fresh prefix): none reads events another published, so each
  // passes alone and in any order.
  let prefix: string;
  let nc: NatsConnection;
  let bus: EventBus;
  let letters: DeadLetter[];
  let flows: EventFlows;

  beforeAll(async () => {
    context.setGlobalContextManager(new TestContextManager());
    propagation.setGlobalPropagator(testPropagator);
    nc = await connect({ servers: NATS, noAsyncTraces: true });
  });

  beforeEach(async () => {
    prefix = runId();
    letters = [];
    flows = createEventFlows();
    const deadLetters = letters;
    bus = await createJetStreamEventBus({
      flows,
      connection: nc,
      source: "orders",
      prefix,
      redeliveryDelayMs: 20,
      maxRedeliveryDelayMs: 50,
      ackWaitMs: 2_000,
      pullExpiresMs: 1_000,
      onDeadLetter: (l) => deadLetters.push(l),
    });
  });

  afterEach(async () => {
    await bus?.close();
    const jsm = await jetstreamManager(nc);
    const names = eventNames(OrderPlacedSchema, prefix);
    await jsm.streams.delete(names.stream).catch(() => {});
    await jsm.streams.delete(names.deadLetterStream).catch(() => {});
  });

  afterAll(async () => {
    await nc?.close();
    propagation.disable();
    context.disable();
  });

  it("derives stream and subjects from the Protobuf type", () => {
    expect(eventNames(OrderPlacedSchema)).toEqual({
      type: "shop.events.v1.OrderPlaced",
      stream: "SHOP_EVENTS",
      streamSubject: "events.shop.events.>",
      subject: "events.shop.events.v1.OrderPlaced",
      deadLetterStream: "SHOP_EVENTS_DLQ",
      deadLetterStreamSubject: "deadletter.*.shop.events.>",
    });
  });

  it("publishes with the envelope and trace context in headers; each consumer gets every event once", async () => {
    const seen: Array<{ orderId: string; meta: EventMeta; traceId?: string }> = [];
    const shared: string[] = [];
    const subA = await bus.subscribe(OrderPlacedSchema, "fulfillment", async (e, meta) => {
      seen.push({ orderId: e.orderId, meta, traceId: trace.getSpanContext(context.active())?.traceId });
    });
    // Two replicas of one service share the durable: each event reaches one of them.
    const subB1 = await bus.subscribe(OrderPlacedSchema, "recommendations", async (e) => void shared.push(`1:${e.orderId}`));
    const subB2 = await bus.subscribe(OrderPlacedSchema, "recommendations", async (e) => void shared.push(`2:${e.orderId}`));

    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: "00f067aa0ba902b7", traceFlags: TraceFlags.SAMPLED });
    const { id } = await context.with(parent, () => bus.publish(OrderPlacedSchema, { orderId: "o-1", totalCents: 500n }));
    for (let i = 2; i <= 50; i++) await bus.publish(OrderPlacedSchema, { orderId: `o-${i}` });

    await waitUntil(() => seen.length === 50 && shared.length === 50, 10_000, "50 deliveries to each consumer");
    const first = seen.find((s) => s.orderId === "o-1")!;
    expect(first.meta).toMatchObject({ id, type: "shop.events.v1.OrderPlaced", source: "orders", deliveryCount: 1 });
    expect(first.meta.traceparent).toBe(`00-${traceId}-00f067aa0ba902b7-01`);
    expect(first.traceId).toBe(traceId);
    expect(new Set(shared.map((s) => s.slice(2))).size).toBe(50);

    // The stored message carries the envelope as CloudEvents-style headers.
    const jsm = await jetstreamManager(nc);
    const stored = await jsm.streams.getMessage(eventNames(OrderPlacedSchema, prefix).stream, { seq: 1 });
    expect(stored?.header.get("Nats-Msg-Id")).toBe(id);
    expect(stored?.header.get(EnvelopeHeaders.type)).toBe("shop.events.v1.OrderPlaced");
    expect(stored?.header.get(EnvelopeHeaders.source)).toBe("orders");
    expect(stored?.header.get("content-type")).toBe("application/protobuf");
    await Promise.all([subA.drain(), subB1.drain(), subB2.drain()]);

    // The flows the admin API reports: this bus publishes to the stream, and each durable consumes from it.
    const stream = eventNames(OrderPlacedSchema, prefix).stream;
    const type = "shop.events.v1.OrderPlaced";
    expect(flows.list().sort((a, b) => a.consumer.localeCompare(b.consumer))).toEqual([
      { direction: "publish", stream, eventType: type, consumer: "", messages: 50 },
      { direction: "consume", stream, eventType: type, consumer: "fulfillment", messages: 50 },
      { direction: "consume", stream, eventType: type, consumer: "recommendations", messages: 50 },
    ]);
  });

  it("passes the trace context through a handler that republishes when no propagator is installed", async () => {
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: TraceFlags.SAMPLED,
    });
    await context.with(parent, () => bus.publish(OrderPlacedSchema, { orderId: "traced" }, { id: `${prefix}-traced` }));
    propagation.disable(); // from here on nothing injects or extracts
    try {
      const seen: EventMeta[] = [];
      const relay = await bus.subscribe(OrderPlacedSchema, "relay", async (e) => {
        if (e.orderId === "traced") await bus.publish(StockChangedSchema, { productId: "relayed" });
      });
      const sink = await bus.subscribe(StockChangedSchema, "sink", async (e, meta) => {
        if (e.productId === "relayed") seen.push(meta);
      });
      await waitUntil(() => seen.length === 1, 10_000, "the relayed event");
      expect(seen[0].traceparent).toBe(traceparent);
      await Promise.all([relay.drain(), sink.drain()]);
    } finally {
      propagation.setGlobalPropagator(testPropagator);
    }
  });

  it("delivers a poison event exactly maxDeliver times, dead-letters it with the reason, and the rest complete", async () => {
    const attempts = new Map<string, number>();
    const done = new Set<string>();
    const sub = await bus.subscribe(
      StockChangedSchema,
      "catalogcache",
      async (e) => {
        attempts.set(e.productId, (attempts.get(e.productId) ?? 0) + 1);
        if (e.productId === "poison") throw new Error("stock record is corrupt");
        if (/^p\d+$/.test(e.productId)) done.add(e.productId);
      },
      { maxDeliver: 4, concurrency: 4 },
    );
    await bus.publish(StockChangedSchema, { productId: "poison" }, { id: `${prefix}-poison` });
    for (let i = 0; i < 200; i++) await bus.publish(StockChangedSchema, { productId: `p${i}`, available: 1n });
    await waitUntil(() => done.size === 200 && letters.length >= 1, 60_000, "200 events done and one dead letter");
    expect(letters.map((l) => [l.meta.id, l.meta.deliveryCount])).toEqual([[`${prefix}-poison`, 4]]);
    expect(attempts.get("poison")).toBe(4);
    expect(letters[0]).toMatchObject({ consumer: "catalogcache", reason: "stock record is corrupt" });
    expect(letters[0].meta.id).toBe(`${prefix}-poison`);

    // The dead letter is stored on its subject with the reason in a header.
    const jsm = await jetstreamManager(nc);
    const names = eventNames(StockChangedSchema, prefix);
    const dead = await jsm.streams.getMessage(names.deadLetterStream, { seq: 1 });
    expect(dead?.subject).toBe(`${prefix}.deadletter.catalogcache.shop.events.v1.StockChanged`);
    expect(dead?.header.get(EnvelopeHeaders.deadLetterReason)).toBe("stock record is corrupt");
    expect(dead?.header.get(EnvelopeHeaders.deadLetterDeliveries)).toBe("4");
    expect(dead?.header.get(EnvelopeHeaders.id)).toBe(`${prefix}-poison`);
    await new Promise((r) => setTimeout(r, 300));
    expect(attempts.get("poison")).toBe(4); // nothing more after the dead letter
    await sub.drain();
  });

  it("bounds handler concurrency and drains the events in hand", async () => {
    let running = 0;
    let peak = 0;
    let finished = 0;
    const sub = await bus.subscribe(
      OrderPlacedSchema,
      "slowconsumer",
      async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        finished++;
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 12; i++) await bus.publish(OrderPlacedSchema, { orderId: `slow-${i}` });
    await waitUntil(() => finished >= 6, 10_000, "some slow events");
    await sub.drain();
    expect(running).toBe(0);
    expect(peak).toBe(3);
  });

  it("keeps a handler slower than the ack wait from being redelivered, up to maxHandlerMs", async () => {
    const settings = { connection: nc, source: "orders", prefix, ackWaitMs: 1_000, pullExpiresMs: 1_000 };
    const patient = await createJetStreamEventBus({ ...settings, maxHandlerMs: 10_000 });
    const impatient = await createJetStreamEventBus({ ...settings, maxHandlerMs: 1_000 });
    await bus.publish(StockChangedSchema, { productId: "slow" }, { id: `${prefix}-slow` });
    const deliveries = { patient: [] as number[], impatient: [] as number[] };
    const handler = (who: "patient" | "impatient") => async (e: { productId: string }, meta: EventMeta) => {
      if (e.productId !== "slow") return;
      deliveries[who].push(meta.deliveryCount);
      if (meta.deliveryCount === 1) await new Promise((r) => setTimeout(r, 2_500));
    };
    const subs = await Promise.all([
      patient.subscribe(StockChangedSchema, "patient", handler("patient")),
      impatient.subscribe(StockChangedSchema, "impatient", handler("impatient")),
    ]);
    await waitUntil(() => deliveries.impatient.length === 2, 10_000, "the impatient consumer's redelivery");
    await new Promise((r) => setTimeout(r, 800)); // the patient handler finishes at 2.5 s and acks
    expect(deliveries.patient).toEqual([1]); // 2.5 s > 1 s ack wait, still delivered once
    expect(deliveries.impatient).toEqual([1, 2]);
    await Promise.all(subs.map((s) => s.drain()));
    await Promise.all([patient.close(), impatient.close()]);
  });

  it("fails fast on bad options and maps broker failures to Connect codes", async () => {
    await expect(createJetStreamEventBus({ source: "", servers: NATS })).rejects.toThrow("options.source");
    await expect(createJetStreamEventBus({ source: "x", servers: NATS, prefix: "a.b" })).rejects.toThrow("options.prefix");
    await expect(createJetStreamEventBus({ source: "x", servers: NATS, pullExpiresMs: 10 })).rejects.toThrow(
      "options.pullExpiresMs",
    );
    await expect(createJetStreamEventBus({ source: "x", servers: "nats://127.0.0.1:1" })).rejects.toMatchObject({
      code: Code.Unavailable,
    });
  });
});
