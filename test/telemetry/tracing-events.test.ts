// Redeliveries and dead letters are visible in traces: every JetStream delivery is a CONSUMER span,
// child of the publish, with its delivery count; a failed delivery carries a redeliver event, the last
// one a dead-letter event. Real NATS (JetStream), real Jaeger.

import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrderPlacedSchema } from "../../gen/shop/events/v1/events_pb.ts";
import { createJetStreamEventBus, eventNames, type EventBus } from "../../mesh/events/index.ts";
import { readTracingConfig, startTracing, type Tracing } from "../../mesh/telemetry/index.ts";
import { runId } from "../backends/servers.ts";
import { renderTree, startJaeger, type Jaeger } from "./jaeger.ts";

const prefix = runId();
let jaeger: Jaeger | undefined;
let tracing: Tracing | undefined;
let nc: NatsConnection | undefined;
let bus: EventBus | undefined;

beforeAll(async () => {
  jaeger = await startJaeger();
  tracing = await startTracing(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint, OTEL_BSP_SCHEDULE_DELAY: "100" }, "events-test"));
  nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222", noAsyncTraces: true });
  bus = await createJetStreamEventBus({ connection: nc, source: "orders", prefix, redeliveryDelayMs: 20, maxRedeliveryDelayMs: 50, ackWaitMs: 2000, pullExpiresMs: 1000, tracer: tracing!.tracer });
}, 40_000);

afterAll(async () => {
  await bus?.close();
  if (nc !== undefined) {
    const jsm = await jetstreamManager(nc);
    const names = eventNames(OrderPlacedSchema, prefix);
    await jsm.streams.delete(names.stream).catch(() => {});
    await jsm.streams.delete(names.deadLetterStream).catch(() => {});
    await nc.close();
  }
  await tracing?.shutdown();
  await jaeger?.stop();
});

describe("event spans (real JetStream, real Jaeger)", () => {
  it("a redelivered event shows each delivery under its publish; an exhausted one ends dead-lettered", async () => {
    let calls = 0;
    const handled = new Promise<void>((resolve) => {
      void bus!.subscribe(OrderPlacedSchema, "tracetest", async (event) => {
        if (event.orderId === "flaky" && ++calls === 1) throw new Error("first delivery fails");
        if (event.orderId === "doomed") throw new Error("always fails");
        if (event.orderId === "flaky") resolve();
      }, { maxDeliver: 3 });
    });
    const [flakyTrace, doomedTrace] = await Promise.all(["flaky", "doomed"].map((orderId) =>
      tracing!.tracer.startActiveSpan(`place ${orderId}`, async (span) => {
        await bus!.publish(OrderPlacedSchema, { orderId });
        span.end();
        return span.spanContext().traceId;
      }),
    ));
    await handled;

    const flaky = await jaeger!.waitForTrace(flakyTrace, (s) => s.filter((x) => x.kind === "CONSUMER").length >= 2);
    console.log(`redelivered event:\n${renderTree(flaky)}`);
    const publish = flaky.find((s) => s.kind === "PRODUCER")!;
    const deliveries = flaky.filter((s) => s.kind === "CONSUMER").sort((a, b) => Number(a.attributes["messaging.nats.message.delivery_count"]) - Number(b.attributes["messaging.nats.message.delivery_count"]));
    expect(deliveries.map((d) => d.attributes["messaging.nats.message.delivery_count"])).toEqual([1, 2]);
    for (const d of deliveries) expect(d.parentSpanId).toBe(publish.spanId);
    expect(deliveries[0].statusCode).toBe(2);
    expect(deliveries[0].events).toContain("weft.event.redeliver");
    expect(deliveries[1].statusCode).not.toBe(2);

    const doomed = await jaeger!.waitForTrace(doomedTrace, (s) => s.some((x) => x.events.includes("weft.event.dead_letter")), 20_000);
    console.log(`dead-lettered event:\n${renderTree(doomed)}`);
    const last = doomed.filter((s) => s.kind === "CONSUMER");
    expect(last.map((d) => d.attributes["messaging.nats.message.delivery_count"]).sort()).toEqual([1, 2, 3]);
    expect(last.find((d) => d.attributes["messaging.nats.message.delivery_count"] === 3)!.events).toContain("weft.event.dead_letter");
    // The handler's error text never lands in a span.
    const raw = JSON.stringify(await (await fetch(`${jaeger!.queryUrl}/api/v3/traces/${doomedTrace}`)).json());
    expect(raw).not.toContain("always fails");
  }, 60_000);
});
