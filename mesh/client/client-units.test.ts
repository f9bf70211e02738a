// Unit tests of the mesh client's pure parts: failure classification, the P2C choice, option checks,
// and the Connect-over-NATS envelope.

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { EchoStatusSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { createStaticDiscovery, NO_LOAD, type Endpoint } from "../discovery/index.ts";
import { refusedError } from "../resilience/index.ts";
import { pickP2C, type Candidate } from "./balancer.ts";
import { EndpointStats } from "./endpoint-stats.ts";
import { classifyFailure } from "./failure.ts";
import { createMeshClient } from "./index.ts";
import { encodeErrorReply, encodeReply, encodeRequest, parseReply, parseRequest } from "./nats-rpc-protocol.ts";
import { readMetadata, WireError } from "./nats-wire.ts";

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

describe("Connect over NATS envelope", () => {
  it("round-trips code, message, details and metadata of an error", () => {
    const err = new ConnectError("bad thing: ü %", Code.FailedPrecondition, { "x-why": "because" }, [
      { desc: EchoStatusSchema, value: create(EchoStatusSchema, { code: 3, message: "detail" }) },
    ]);
    const reply = parseReply(encodeErrorReply(7, new Headers({ "x-h": "1" }), new Headers({ "x-t": "2" }), err));
    expect(reply.callId).toBe(7);
    const back = reply.error!;
    expect(back.code).toBe(Code.FailedPrecondition);
    expect(back.rawMessage).toBe("bad thing: ü %");
    expect(back.metadata.get("x-why")).toBe("because");
    expect(back.metadata.get("x-h")).toBe("1");
    expect(back.metadata.get("x-t")).toBe("2");
    const [detail] = back.findDetails(EchoStatusSchema);
    expect(detail).toMatchObject({ code: 3, message: "detail" });
  });

  it("round-trips a request's call id, deadline, metadata (binary too) and message", () => {
    const header = new Headers({ "x-a": "caf\u00e9 1", "x-trace-bin": "AAEC/w==" });
    header.append("x-a", "second");
    const message = new Uint8Array([1, 2, 3, 250]);
    const req = parseRequest(encodeRequest(0x0fffffff, 0xffffffff, header, message));
    expect(req.callId).toBe(0x0fffffff);
    expect(req.timeoutMs).toBe(0xffffffff);
    expect([...req.body]).toEqual([...message]);
    const back = new Headers();
    readMetadata(req.metadata!, back);
    expect(back.get("x-a")).toBe("caf\u00e9 1, second");
    expect(back.get("x-trace-bin")).toBe("AAEC/w==");
    const bare = parseRequest(encodeRequest(1, undefined, new Headers(), message));
    expect(bare.timeoutMs).toBeUndefined();
    expect(bare.metadata).toBeUndefined();
    expect(encodeRequest(1, undefined, undefined, message).length).toBe(3 + message.length);
  });

  it("carries response metadata beside a message, and refuses truncated or foreign envelopes", () => {
    const ok = parseReply(encodeReply(300, new Headers({ "x-h": "v" }), undefined, new Uint8Array([9])));
    expect(ok.callId).toBe(300);
    expect(ok.error).toBeUndefined();
    expect([...ok.body]).toEqual([9]);
    const header = new Headers();
    readMetadata(ok.header!, header);
    const names: string[] = [];
    header.forEach((_value, name) => void names.push(name));
    expect(names).toEqual(["x-h"]);
    expect(header.get("x-h")).toBe("v");
    expect(ok.trailer).toBeUndefined();
    const whole = encodeErrorReply(1, undefined, new Headers({ "x-t": "v" }), new ConnectError("m", Code.NotFound));
    for (let n = 0; n < whole.length; n++) expect(() => parseReply(whole.subarray(0, n))).toThrow(WireError);
    expect(() => parseReply(new Uint8Array([2, 0, 1]))).toThrow(/version/);
    expect(() => parseRequest(new Uint8Array([1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(WireError);
  });
});
