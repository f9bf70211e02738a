// Retries and ejections are visible in traces: the mesh client records a CLIENT span per attempt
// (attempt number, endpoint, code) and marks the attempt whose failure ejected its endpoint. Real
// processes (the distributed suite's TestService instances, one failing every call), real NATS
// discovery, a real Jaeger.

import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery } from "../../mesh/discovery/index.ts";
import { readTracingConfig, startTracing, type Tracing } from "../../mesh/telemetry/index.ts";
import { startInstance, stop, until, type TestInstance } from "../distributed/fixtures/processes.ts";
import { renderTree, startJaeger, type Jaeger, type StoredSpan } from "./jaeger.ts";

let jaeger: Jaeger | undefined;
let tracing: Tracing | undefined;
let nc: NatsConnection | undefined;
const instances: TestInstance[] = [];

beforeAll(async () => {
  jaeger = await startJaeger();
  tracing = await startTracing(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint, OTEL_BSP_SCHEDULE_DELAY: "100" }, "retry-test"));
  nc = await connect({ servers: "nats://127.0.0.1:4222", noAsyncTraces: true });
}, 40_000);

afterAll(async () => {
  await Promise.all(instances.map((i) => stop(i.proc)));
  await tracing?.shutdown();
  await nc?.close();
  await jaeger?.stop();
});

describe("retries and ejections in traces (real Jaeger)", () => {
  it("a call that fails on one endpoint and succeeds on another shows both attempts; the ejecting failure is marked", async () => {
    const prefix = `weft.t${randomUUID().slice(0, 8)}.registry`;
    instances.push(...(await Promise.all([
      startInstance("good", { MESH_REGISTRY_PREFIX: prefix, MESH_HEARTBEAT_MS: "250" }),
      startInstance("bad", { MESH_REGISTRY_PREFIX: prefix, MESH_HEARTBEAT_MS: "250", FAIL: "unavailable" }),
    ])));
    const discovery = createNatsDiscovery({ nc: nc!, subjectPrefix: prefix });
    await discovery.ready();
    await until(() => discovery.endpoints(TestService.typeName).length === 2, 5000, "both up");
    const mesh = createMeshClient({ discovery, tracer: tracing!.tracer, balancer: { policy: "round-robin" }, outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 30_000 } });
    const client = mesh.client(TestService);
    const traceIds: string[] = [];
    for (let i = 0; i < 8; i++) {
      // A root span per call, as an application's own span would be.
      await tracing!.tracer.startActiveSpan(`call ${i}`, async (span) => {
        traceIds.push(span.spanContext().traceId);
        try {
          expect((await client.cacheableUnaryCall({})).servedBy).toBe("good");
        } finally {
          span.end();
        }
      });
    }
    expect(mesh.stats().retries).toBeGreaterThan(0);
    await tracing!.forceFlush();
    const all: StoredSpan[] = [];
    for (const id of traceIds) all.push(...(await jaeger!.waitForTrace(id, (s) => s.some((x) => x.name.startsWith("call ")))));
    const attempts = all.filter((s) => s.kind === "CLIENT");
    const retried = attempts.filter((s) => s.attributes["weft.rpc.attempt"] === 1);
    expect(retried.length, renderTree(all)).toBeGreaterThan(0);
    for (const second of retried) {
      const first = attempts.find((s) => s.traceId === second.traceId && s.attributes["weft.rpc.attempt"] === 0)!;
      expect(first.statusCode).toBe(2);
      expect(first.attributes["rpc.grpc.status_code"]).toBe(14); // UNAVAILABLE
      expect(first.attributes["weft.instance.id"]).toBe("bad");
      expect(second.statusCode).not.toBe(2);
      expect(second.attributes["weft.instance.id"]).toBe("good");
      expect(second.parentSpanId).toBe(first.parentSpanId); // both attempts under the caller's span
    }
    expect(attempts.filter((s) => s.events.includes("weft.endpoint.ejected")).map((s) => s.attributes["weft.instance.id"])).toEqual(["bad"]);
    console.log(`a retried call:\n${renderTree(all.filter((s) => s.traceId === retried[0].traceId))}`);
    mesh.close();
    await discovery.close();
    expect(trace.getActiveSpan()).toBeUndefined();
  }, 60_000);
});
