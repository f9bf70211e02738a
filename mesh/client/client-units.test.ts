// Unit tests of the mesh client's pure parts: failure classification, the P2C choice, option checks.

import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createStaticDiscovery, NO_LOAD, type Endpoint } from "../discovery/index.ts";
import { refusedError } from "../resilience/index.ts";
import { pickP2C, type Candidate } from "./balancer.ts";
import { EndpointStats } from "./endpoint-stats.ts";
import { classifyFailure } from "./failure.ts";
import { createMeshClient } from "./index.ts";

function candidate(id: string, ewmaMs: number, outstanding = 0, inFlight = 0): Candidate {
  const stats = new EndpointStats(ewmaMs, 5000);
  stats.outstanding = outstanding;
  const endpoint: Endpoint = { instanceId: id, services: [], address: "h:1", natsSubject: "", version: "", ready: true, load: { ...NO_LOAD, inFlight } };
  return { endpoint, stats };
}

describe("classifyFailure", () => {
  it("treats refusals and connection refused as never reaching a handler", () => {
    expect(classifyFailure(refusedError("draining"))).toMatchObject({ neverReachedHandler: true, endpointFailure: true });
    expect(classifyFailure(refusedError("overloaded"))).toMatchObject({ neverReachedHandler: true, endpointFailure: false });
    const refused = new ConnectError("connect failed", Code.Unavailable, undefined, undefined, Object.assign(new Error("x"), { code: "ECONNREFUSED" }));
    expect(classifyFailure(refused).neverReachedHandler).toBe(true);
    expect(classifyFailure(new ConnectError("http/2 stream closed with error code REFUSED_STREAM (0x7)", Code.Unavailable)).neverReachedHandler).toBe(true);
  });

  it("retries only transport failures of idempotent calls, never a handler's answer", () => {
    expect(classifyFailure(new ConnectError("down", Code.Unavailable))).toEqual({ neverReachedHandler: false, retryableIfIdempotent: true, endpointFailure: true });
    const reset = new ConnectError("reset", Code.Aborted, undefined, undefined, Object.assign(new Error("x"), { code: "ECONNRESET" }));
    expect(classifyFailure(reset).retryableIfIdempotent).toBe(true);
    expect(classifyFailure(new ConnectError("conflict", Code.Aborted)).retryableIfIdempotent).toBe(false);
    expect(classifyFailure(new ConnectError("nope", Code.NotFound))).toEqual({ neverReachedHandler: false, retryableIfIdempotent: false, endpointFailure: false });
  });
});

describe("power of two choices", () => {
  it("picks the cheaper of the two drawn, weighing latency, outstanding calls and reported load", () => {
    const w = { reportedLoadWeight: 0.25, initialLatencyMs: 1 };
    const now = performance.now();
    const seq = (values: number[]) => () => values.shift()!;
    expect(pickP2C([candidate("fast", 1), candidate("slow", 50)], now, w, seq([0, 0]))!.endpoint.instanceId).toBe("fast");
    expect(pickP2C([candidate("slow", 50), candidate("fast", 1)], now, w, seq([0, 0]))!.endpoint.instanceId).toBe("fast");
    // Same latency, one with 10 calls outstanding.
    expect(pickP2C([candidate("busy", 2, 10), candidate("idle", 2)], now, w, seq([0, 0]))!.endpoint.instanceId).toBe("idle");
    // Same latency and our outstanding, one reporting 100 in flight from other callers.
    expect(pickP2C([candidate("loaded", 2, 0, 100), candidate("calm", 2)], now, w, seq([0, 0]))!.endpoint.instanceId).toBe("calm");
    expect(pickP2C([], now, w)).toBeUndefined();
  });

  it("remembers peaks at once and forgets them over the decay time", () => {
    const s = new EndpointStats(1, 100);
    const t0 = performance.now();
    s.observe(50, t0);
    expect(s.ewmaMs).toBe(50);
    s.observe(1, t0 + 100);
    expect(s.ewmaMs).toBeGreaterThan(15);
    expect(s.ewmaMs).toBeLessThan(25);
    // Idle long enough, the estimate drifts back toward the baseline so the endpoint gets probed.
    expect(s.latencyMs(t0 + 1000, 1)).toBeLessThan(2);
  });
});

describe("createMeshClient options", () => {
  const discovery = createStaticDiscovery({ endpoints: {} });
  it("names the bad field", () => {
    expect(() => createMeshClient({ discovery, retry: { maxAttempts: 0 } })).toThrow(/options.retry.maxAttempts/);
    expect(() => createMeshClient({ discovery, defaultTransport: "nats" })).toThrow(/options.nc/);
    expect(() => createMeshClient({ discovery, balancer: { policy: "random" as never } })).toThrow(/options.balancer.policy/);
    expect(() => createMeshClient({ discovery: {} as never })).toThrow(/options.discovery/);
  });

  it("fails fast with UNAVAILABLE when no endpoint serves the service", async () => {
    const { TestService } = await import("../../gen/weft/testing/v1/test_pb.ts");
    const mesh = createMeshClient({ discovery });
    const t0 = performance.now();
    const err = await mesh.client(TestService).emptyCall({}).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.Unavailable);
    expect(performance.now() - t0).toBeLessThan(50);
    mesh.close();
  });
});
