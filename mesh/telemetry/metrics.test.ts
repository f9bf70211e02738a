// /metrics of a real host: valid exposition text (checked by Prometheus's own promtool) with every
// declared name; server RPC metrics from the call hooks per code; label values bounded.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.ts";
import { createTestServiceImpl, TestService } from "../../test/support/test-service.ts";
import { createHost, silentLogger, type Host } from "../host/index.ts";
import { createMetrics, createServerMetricsHooks, metricNames, readMetricsConfig, UNKNOWN_LABEL_VALUE } from "./index.ts";

const PROMTOOL = process.env.PROMTOOL_PATH ?? "/usr/bin/promtool";
const hosts: Host[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

/** The value of the sample `name{labels}` (labels as `a="x",b="y"`, in any order in the text), or undefined. */
function sample(text: string, name: string, labels: string): number | undefined {
  const want = labels === "" ? [] : labels.split(",").sort();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = m[2] === undefined || m[2] === "" ? [] : m[2].split(",").sort();
    if (have.join(",") === want.join(",")) return Number(m[3]);
  }
  return undefined;
}

describe("metrics on a host's /metrics", () => {
  it("serves valid exposition text with every declared name, counting calls per code", async () => {
    if (!existsSync(PROMTOOL)) throw new Error(`${PROMTOOL} not found: run \`bash scripts/dev-services.sh\` (installs Debian's prometheus)`);
    // Process metrics off: promtool's lint flags names in prom-client's default set that are not Weft's.
    const metrics = createMetrics({ processMetrics: false });
    const host = createHost({ port: 0, logger: silentLogger, metrics, callHooks: [createServerMetricsHooks(metrics)] });
    host.register(TestService, createTestServiceImpl());
    hosts.push(host);
    const { url } = await host.listen();
    metrics.computePool({ utilization: () => 0.25, queueDepth: () => 3, threads: () => 2, queueWaitMs: () => ({ p50: 1, p99: 8 }) }).taskDone(0);
    metrics.cache("catalog").misses.value++;
    metrics.consumer("shop.events.v1.OrderPlaced", "recommendations").consumed.value++;

    const client = createClient(TestService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    for (let i = 0; i < 3; i++) await client.unaryCall({ responseSize: 1 });
    const err = await client.unaryCall({ responseStatus: { code: Code.NotFound, message: "no" } }).catch((e: unknown) => e);
    expect(ConnectError.from(err).code).toBe(Code.NotFound);
    await createClient(Health, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })).check({});

    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(metrics.contentType);
    const text = await res.text();

    const check = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.stdout + check.stderr).toBe("");
    expect(check.status).toBe(0);
    for (const { name, type } of Object.values(metricNames)) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
    const unary = 'service="weft.testing.v1.TestService",method="UnaryCall"';
    expect(sample(text, "weft_rpc_server_requests_total", `${unary},code="ok"`)).toBe(3);
    expect(sample(text, "weft_rpc_server_requests_total", `${unary},code="not_found"`)).toBe(1);
    expect(sample(text, "weft_rpc_server_duration_seconds_count", `${unary},code="ok"`)).toBe(3);
    expect(sample(text, "weft_rpc_server_duration_seconds_bucket", `${unary},code="ok",le="+Inf"`)).toBe(3);
    expect(sample(text, "weft_rpc_server_in_flight", unary)).toBe(0);
    expect(sample(text, "weft_compute_queue_depth", "")).toBe(3);
    expect(sample(text, "weft_compute_queue_wait_p99_seconds", "")).toBe(0.008);
    // The host's own health calls are not RPC traffic of the service.
    expect(text).not.toContain('service="grpc.health.v1.Health"');
    // Only /metrics leaves the engine: with no user fallback, other paths keep its Connect 404.
    const other = await fetch(`${url}/`);
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ code: "unimplemented" });
    expect((await fetch(`${url}/metrics?x=1`, { method: "HEAD" })).status).toBe(200);
  });

  it("collapses a method its service does not declare, and services past maxServices, to `unknown`", async () => {
    const metrics = createMetrics({ processMetrics: false, maxServices: 1 });
    const bogus = metrics.rpcServer.method(TestService, Health.method.check);
    expect([bogus.service, bogus.method]).toEqual(["weft.testing.v1.TestService", UNKNOWN_LABEL_VALUE]);
    bogus.record(0, 0.001);
    const extra = metrics.rpcServer.method(Health, Health.method.check);
    expect([extra.service, extra.method]).toEqual([UNKNOWN_LABEL_VALUE, UNKNOWN_LABEL_VALUE]);
    extra.record(14, 0.001);
    // Codes outside Connect's range are recorded as `unknown`, never as a new label value.
    extra.record(99, 0.001);
    const text = await metrics.render();
    expect(sample(text, "weft_rpc_server_requests_total", `service="weft.testing.v1.TestService",method="unknown",code="ok"`)).toBe(1);
    expect(sample(text, "weft_rpc_server_requests_total", `service="unknown",method="unknown",code="unavailable"`)).toBe(1);
    expect(sample(text, "weft_rpc_server_requests_total", `service="unknown",method="unknown",code="unknown"`)).toBe(1);
    expect(text).not.toContain("grpc.health.v1.Health");
    expect(text).not.toContain('method="Check"');
  });

  it("is off with WEFT_METRICS=off, and refuses a value it does not know", () => {
    expect(readMetricsConfig({}).enabled).toBe(true);
    expect(readMetricsConfig({ WEFT_METRICS: "off" }).enabled).toBe(false);
    expect(() => readMetricsConfig({ WEFT_METRICS: "maybe" })).toThrow(expect.objectContaining({ code: "WEFT_ERR_TELEMETRY_CONFIG" }));
  });
});
