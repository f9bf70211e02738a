// Streams over NATS against a real NATS server. Server streaming: order, metadata, flow control (the
// server never runs further ahead of the consumer than the window), cancellation by an early break, by
// a deadline and by a caller that vanished, and errors before and during the stream. Client and bidi
// streaming: the same, in both directions (the caller never runs further ahead of the handler than
// the server's window).

import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  StreamingOutputCallRequestSchema,
  TestService,
  type FullDuplexCallRequest,
  type StreamingInputCallRequest,
  type StreamingOutputCallRequest,
} from "../../gen/weft/testing/v1/test_pb.ts";
import { create, toBinary } from "@bufbuild/protobuf";
import { NO_LOAD, type EndpointSource } from "../discovery/index.ts";
import { createMeshClient, type MeshClient } from "../client/index.ts";
import { ANONYMOUS_CALLER, createNatsRpcServer, type NatsRpcServer } from "./index.ts";
import { encodeRequest } from "./envelope.ts";
import { natsUrl } from "../../test/support/servers.ts";

const WINDOW = 4;
/** The server's window for the caller's messages of client and bidi streams. */
const INPUT_WINDOW = 6;
let nc: NatsConnection;
let server: NatsRpcServer;
let mesh: MeshClient;
let natsSubject: string;
// What the handlers observed, by the request's payload text.
const produced = new Map<string, number>();
const aborted = new Map<string, number>();
const finished = new Set<string>();
// Messages the handlers took from client and bidi streams, by the call's x-name header.
const consumed = new Map<string, number>();

// StreamingInputCall: sums the payloads; x-name "slow" reads one message per 20 ms, "fail-2" fails
// after two messages, "hang" reads one message and then waits (for its signal).
async function streamingInputCall(reqs: AsyncIterable<StreamingInputCallRequest>, ctx: HandlerContext) {
  const name = ctx.requestHeader.get("x-name") ?? "";
  const started = Date.now();
  ctx.signal.addEventListener("abort", () => aborted.set(name, Date.now() - started), { once: true });
  ctx.responseHeader.set("x-stream", name);
  try {
    let total = 0;
    for await (const r of reqs) {
      consumed.set(name, (consumed.get(name) ?? 0) + 1);
      total += r.payload?.body.length ?? 0;
      if (name === "slow") await sleep(20);
      if (name === "fail-2" && consumed.get(name) === 2) throw new ConnectError("broke after two", Code.DataLoss, { "x-why": "test" });
      if (name === "hang") await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason), { once: true }));
    }
    ctx.responseTrailer.set("x-count", String(consumed.get(name) ?? 0));
    return { aggregatedPayloadSize: total };
  } finally {
    finished.add(name);
  }
}

// FullDuplexCall: one answer per response_parameters entry of each request; x-name "bidi-fail" fails
// after answering two requests.
async function* fullDuplexCall(reqs: AsyncIterable<FullDuplexCallRequest>, ctx: HandlerContext) {
  const name = ctx.requestHeader.get("x-name") ?? "";
  const started = Date.now();
  ctx.signal.addEventListener("abort", () => aborted.set(name, Date.now() - started), { once: true });
  ctx.responseHeader.set("x-stream", name);
  try {
    let n = 0;
    for await (const r of reqs) {
      consumed.set(name, (consumed.get(name) ?? 0) + 1);
      if (name === "bidi-fail" && consumed.get(name) === 3) throw new ConnectError("broke after two", Code.DataLoss, { "x-why": "test" });
      for (const p of r.responseParameters) {
        produced.set(name, ++n);
        yield { payload: { body: new Uint8Array(p.size) } };
      }
    }
    ctx.responseTrailer.set("x-count", String(n));
  } finally {
    finished.add(name);
  }
}

/** `count` messages of `size` bytes, counting in `made` how many the caller's generator produced. */
async function* inputs(count: number, size: number, made?: { n: number }) {
  for (let i = 0; i < count; i++) {
    if (made !== undefined) made.n++;
    yield { payload: { body: new Uint8Array(size) }, responseParameters: [{ size: i + 1 }] };
  }
}

// StreamingOutputCall: one message per response_parameters entry (interval_us apart), or forever with
// none; payload "fail-first" fails before any message, "fail-2" after two.
async function* streamingOutputCall(req: StreamingOutputCallRequest, ctx: HandlerContext) {
  const name = new TextDecoder().decode(req.payload?.body);
  const started = Date.now();
  ctx.signal.addEventListener("abort", () => aborted.set(name, Date.now() - started), { once: true });
  ctx.responseHeader.set("x-stream", name);
  try {
    if (name === "fail-first") throw new ConnectError("nothing to stream", Code.NotFound);
    const params = req.responseParameters;
    for (let i = 0; params.length === 0 || i < params.length; i++) {
      if (name === "fail-2" && i === 2) throw new ConnectError("broke after two", Code.DataLoss, { "x-why": "test" });
      const wait = (params[i]?.intervalUs ?? 20_000) / 1000;
      if (wait > 0) await sleep(wait);
      produced.set(name, i + 1);
      yield { payload: { body: new Uint8Array([i & 0xff]) } };
    }
    ctx.responseTrailer.set("x-count", String(params.length));
  } finally {
    finished.add(name);
  }
}

function request(name: string, messages = 0, intervalUs = 0) {
  return {
    payload: { body: new TextEncoder().encode(name) },
    responseParameters: Array.from({ length: messages }, () => ({ size: 1, intervalUs })),
  };
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(10);
  }
}

beforeAll(async () => {
  nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
  natsSubject = `weft.t${randomUUID().slice(0, 8)}.rpc.streams`;
  server = createNatsRpcServer({
    nc,
    subject: natsSubject,
    services: [{ service: TestService, impl: { streamingOutputCall, streamingInputCall, fullDuplexCall } as never }],
    streamWindow: INPUT_WINDOW,
  });
  const endpoint = { instanceId: "streams", services: [TestService.typeName], address: "", natsSubject, version: "", ready: true, load: NO_LOAD };
  const source: EndpointSource = { endpoints: () => [endpoint], subscribe: () => () => {}, ready: async () => {}, close: async () => {} };
  mesh = createMeshClient({ discovery: source, nc, defaultTransport: "nats", natsStreamWindow: WINDOW });
});

afterAll(async () => {
  mesh?.close();
  server?.close();
  await nc?.close();
});

describe("server streaming over NATS", () => {
  it("delivers every message in order with headers and trailers, never more than the window ahead of the consumer", async () => {
    const client = mesh.client(TestService);
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const got: number[] = [];
    let maxAhead = 0;
    for await (const res of client.streamingOutputCall(request("order", 40), { onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) })) {
      got.push(res.payload!.body[0]);
      maxAhead = Math.max(maxAhead, produced.get("order")! - got.length);
      if (got.length % 10 === 0) await sleep(30); // a slow consumer now and then: the server must wait
    }
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(header?.get("x-stream")).toBe("order");
    expect(trailer?.get("x-count")).toBe("40");
    expect(maxAhead).toBeLessThanOrEqual(WINDOW);
  });

  it("stops the handler when the consumer breaks early", async () => {
    const client = mesh.client(TestService);
    let n = 0;
    for await (const _ of client.streamingOutputCall(request("break"))) {
      if (++n === 3) break;
    }
    await until(() => finished.has("break"), 2000);
    expect(aborted.has("break")).toBe(true);
    expect(produced.get("break")!).toBeLessThanOrEqual(3 + WINDOW);
  });

  it("fails before the first message with the handler's error, and mid-stream with code, message and metadata", async () => {
    const client = mesh.client(TestService);
    const first = await (async () => {
      for await (const _ of client.streamingOutputCall(request("fail-first", 5))) return "message";
      return "end";
    })().catch((e: unknown) => ConnectError.from(e));
    expect(first).toBeInstanceOf(ConnectError);
    expect((first as ConnectError).code).toBe(Code.NotFound);
    const got: number[] = [];
    const mid = await (async () => {
      for await (const res of client.streamingOutputCall(request("fail-2", 5))) got.push(res.payload!.body[0]);
    })().then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(got).toEqual([0, 1]);
    expect(mid?.code).toBe(Code.DataLoss);
    expect(mid?.rawMessage).toBe("broke after two");
    expect(mid?.metadata.get("x-why")).toBe("test");
  });

  it("ends at the deadline with DEADLINE_EXCEEDED and aborts the handler", async () => {
    const client = mesh.client(TestService);
    let n = 0;
    const started = performance.now();
    const err = await (async () => {
      for await (const _ of client.streamingOutputCall(request("deadline"), { timeoutMs: 200 })) n++;
    })().then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.DeadlineExceeded);
    expect(n).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(2000);
    await until(() => finished.has("deadline"), 2000);
    expect(aborted.has("deadline")).toBe(true);
  });

  it("gives up on a caller that stops granting credit (it vanished)", async () => {
    // A raw stream request with a window of 2 whose caller never reads: the server must stop the
    // handler after streamIdleTimeoutMs (300 ms here), not wait for credit forever.
    const subject = `weft.t${randomUUID().slice(0, 8)}.rpc.idle`;
    const idleServer = createNatsRpcServer({ nc, subject, services: [{ service: TestService, impl: { streamingOutputCall } as never }], streamIdleTimeoutMs: 300 });
    try {
      const inbox = `_INBOX.${randomUUID().replaceAll("-", "")}`;
      const message = toBinary(StreamingOutputCallRequestSchema, create(StreamingOutputCallRequestSchema, request("vanished")));
      nc.publish(`${subject}.${ANONYMOUS_CALLER}.${TestService.typeName}.StreamingOutputCall`, encodeRequest(1, undefined, undefined, message, 2), { reply: `${inbox}.0` });
      await until(() => finished.has("vanished"), 3000);
      expect(produced.get("vanished")).toBe(2);
      expect(aborted.has("vanished")).toBe(true);
      expect(idleServer.inFlight).toBe(0);
    } finally {
      idleServer.close();
    }
  });
});

describe("client and bidi streaming over NATS", () => {
  it("client streaming: every message arrives, headers and trailers come back, the caller never runs more than the window ahead of a slow handler", async () => {
    const client = mesh.client(TestService);
    const made = { n: 0 };
    let maxAhead = 0;
    const watch = setInterval(() => (maxAhead = Math.max(maxAhead, made.n - (consumed.get("slow") ?? 0))), 2);
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    try {
      const res = await client.streamingInputCall(inputs(40, 100, made), {
        headers: { "x-name": "slow" },
        onHeader: (h) => (header = h),
        onTrailer: (t) => (trailer = t),
      });
      expect(res.aggregatedPayloadSize).toBe(4000);
    } finally {
      clearInterval(watch);
    }
    expect(consumed.get("slow")).toBe(40);
    expect(header?.get("x-stream")).toBe("slow");
    expect(trailer?.get("x-count")).toBe("40");
    // Bounded: the server holds at most its window of the caller's messages, whatever the caller has.
    expect(maxAhead).toBeGreaterThan(0);
    expect(maxAhead).toBeLessThanOrEqual(INPUT_WINDOW);
  });

  it("client streaming: an empty stream and a handler error come back as such", async () => {
    const client = mesh.client(TestService);
    const empty = await client.streamingInputCall(inputs(0, 1), { headers: { "x-name": "empty" } });
    expect(empty.aggregatedPayloadSize).toBe(0);
    const err = await client.streamingInputCall(inputs(10, 1), { headers: { "x-name": "fail-2" } }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.DataLoss);
    expect(err?.rawMessage).toBe("broke after two");
    expect(err?.metadata.get("x-why")).toBe("test");
  });

  it("bidi: answers in order as requests arrive, with headers and trailers, never more than the window ahead of a slow consumer", async () => {
    const client = mesh.client(TestService);
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const got: number[] = [];
    let maxAhead = 0;
    // Request i asks for one answer of i + 1 bytes.
    for await (const res of client.fullDuplexCall(inputs(30, 1), { headers: { "x-name": "bidi" }, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) })) {
      got.push(res.payload!.body.length);
      maxAhead = Math.max(maxAhead, produced.get("bidi")! - got.length);
      if (got.length % 10 === 0) await sleep(30);
    }
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(header?.get("x-stream")).toBe("bidi");
    expect(trailer?.get("x-count")).toBe("30");
    expect(maxAhead).toBeLessThanOrEqual(WINDOW);
  });

  it("bidi ping-pong: the next request is sent only after the previous answer", async () => {
    const client = mesh.client(TestService);
    const queue: number[] = [1];
    let wake: (() => void) | undefined;
    let done = false;
    const input = (async function* () {
      for (;;) {
        if (queue.length > 0) yield { responseParameters: [{ size: queue.shift()! }] };
        else if (done) return;
        else await new Promise<void>((r) => (wake = r));
      }
    })();
    const got: number[] = [];
    for await (const res of client.fullDuplexCall(input, { headers: { "x-name": "ping" } })) {
      got.push(res.payload!.body.length);
      if (got.length < 5) queue.push(got.length + 1);
      else done = true;
      wake?.();
    }
    expect(got).toEqual([1, 2, 3, 4, 5]);
  });

  it("bidi: a handler error mid-stream reaches the caller with its code, message and metadata", async () => {
    const client = mesh.client(TestService);
    const got: number[] = [];
    const err = await (async () => {
      for await (const res of client.fullDuplexCall(inputs(10, 1), { headers: { "x-name": "bidi-fail" } })) got.push(res.payload!.body.length);
    })().then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(got).toEqual([1, 2]);
    expect(err?.code).toBe(Code.DataLoss);
    expect(err?.metadata.get("x-why")).toBe("test");
  });

  it("bidi: the caller's abort cancels the handler (its signal fires)", async () => {
    const client = mesh.client(TestService);
    const ac = new AbortController();
    const input = (async function* () {
      yield { responseParameters: [{ size: 3 }] };
      await sleep(10_000);
    })();
    const it = client.fullDuplexCall(input, { headers: { "x-name": "abort" }, signal: ac.signal })[Symbol.asyncIterator]();
    expect((await it.next()).value?.payload?.body.length).toBe(3);
    ac.abort();
    const err = await it.next().then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.Canceled);
    await until(() => finished.has("abort"), 3000);
    expect(aborted.has("abort")).toBe(true);
    expect(server.inFlight).toBe(0);
  });

  it("client streaming: the deadline ends the call with DEADLINE_EXCEEDED and aborts the handler", async () => {
    const client = mesh.client(TestService);
    const err = await client.streamingInputCall(inputs(3, 1), { headers: { "x-name": "hang" }, timeoutMs: 200 }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.DeadlineExceeded);
    await until(() => finished.has("hang"), 3000);
    expect(aborted.has("hang")).toBe(true);
  });

  it("bidi: the deadline ends the call with DEADLINE_EXCEEDED mid-stream and aborts the handler", async () => {
    const client = mesh.client(TestService);
    const input = (async function* () {
      yield { responseParameters: [{ size: 1 }] };
      await sleep(10_000);
    })();
    let n = 0;
    const err = await (async () => {
      for await (const _ of client.fullDuplexCall(input, { headers: { "x-name": "bidi-deadline" }, timeoutMs: 300 })) n++;
    })().then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(n).toBe(1);
    expect(err?.code).toBe(Code.DeadlineExceeded);
    await until(() => finished.has("bidi-deadline"), 3000);
    expect(aborted.has("bidi-deadline")).toBe(true);
  });

  it("runs client and server interceptors around client and bidi streams", async () => {
    const seen: string[] = [];
    const subject = `weft.t${randomUUID().slice(0, 8)}.rpc.icpt`;
    const icptServer = createNatsRpcServer({
      nc, subject,
      services: [{ service: TestService, impl: { streamingInputCall, fullDuplexCall } as never }],
      interceptors: [(next) => async (req) => {
        seen.push(`server ${req.method.name} ${req.header.get("x-client")}`);
        const res = await next(req);
        res.header.set("x-server", "yes");
        return res;
      }],
    });
    const endpoint = { instanceId: "icpt", services: [TestService.typeName], address: "", natsSubject: subject, version: "", ready: true, load: NO_LOAD };
    const source: EndpointSource = { endpoints: () => [endpoint], subscribe: () => () => {}, ready: async () => {}, close: async () => {} };
    const icptMesh = createMeshClient({
      discovery: source, nc, defaultTransport: "nats",
      interceptors: [(next) => (req) => {
        seen.push(`client ${req.method.name}`);
        req.header.set("x-client", "yes");
        return next(req);
      }],
    });
    try {
      const client = icptMesh.client(TestService);
      let header: Headers | undefined;
      const res = await client.streamingInputCall(inputs(3, 2), { headers: { "x-name": "icpt-in" }, onHeader: (h) => (header = h) });
      expect(res.aggregatedPayloadSize).toBe(6);
      expect(header?.get("x-server")).toBe("yes");
      const got: number[] = [];
      for await (const r of client.fullDuplexCall(inputs(2, 1), { headers: { "x-name": "icpt-bidi" } })) got.push(r.payload!.body.length);
      expect(got).toEqual([1, 2]);
      expect(seen).toEqual(["client StreamingInputCall", "server StreamingInputCall yes", "client FullDuplexCall", "server FullDuplexCall yes"]);
    } finally {
      icptMesh.close();
      icptServer.close();
    }
  });

  it("client streaming: a request stream that throws fails the call and cancels the handler", async () => {
    const client = mesh.client(TestService);
    const input = (async function* () {
      yield { payload: { body: new Uint8Array(1) } };
      await until(() => consumed.get("throws") === 1, 3000);
      throw new ConnectError("caller gave up", Code.FailedPrecondition);
    })();
    const err = await client.streamingInputCall(input, { headers: { "x-name": "throws" } }).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.FailedPrecondition);
    await until(() => finished.has("throws"), 3000);
    expect(aborted.has("throws")).toBe(true);
  });

  it("gives up on a client stream whose caller sends nothing more (it vanished)", async () => {
    // A raw client-stream open whose caller never sends: the server grants credit, then must stop the
    // handler after streamIdleTimeoutMs (300 ms here) rather than wait for input forever.
    const subject = `weft.t${randomUUID().slice(0, 8)}.rpc.idlein`;
    const idleServer = createNatsRpcServer({ nc, subject, services: [{ service: TestService, impl: { streamingInputCall } as never }], streamIdleTimeoutMs: 300 });
    try {
      const inbox = `_INBOX.${randomUUID().replaceAll("-", "")}`;
      const credits: number[] = [];
      const sub = nc.subscribe(`${inbox}.0`, { callback: (_, m) => void credits.push(m.data.length) });
      const header = new Headers({ "x-name": "vanished-in" });
      nc.publish(`${subject}.${ANONYMOUS_CALLER}.${TestService.typeName}.StreamingInputCall`, encodeRequest(1, undefined, header, new Uint8Array(0), 2, true), { reply: `${inbox}.0` });
      await until(() => finished.has("vanished-in"), 3000);
      expect(aborted.has("vanished-in")).toBe(true);
      expect(idleServer.inFlight).toBe(0);
      expect(credits.length).toBeGreaterThanOrEqual(1); // the initial credit, then the error
      sub.unsubscribe();
    } finally {
      idleServer.close();
    }
  });
});
