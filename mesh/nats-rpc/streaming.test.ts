// Server streaming over NATS against a real NATS server: order, metadata, flow control (the server
// never runs further ahead of the consumer than the window), cancellation by an early break, by a
// deadline and by a caller that vanished, and errors before and during the stream.

import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamingOutputCallRequestSchema, TestService, type StreamingOutputCallRequest } from "../../gen/weft/testing/v1/test_pb.ts";
import { create, toBinary } from "@bufbuild/protobuf";
import { NO_LOAD, type EndpointSource } from "../discovery/index.ts";
import { createMeshClient, type MeshClient } from "../client/index.ts";
import { ANONYMOUS_CALLER, createNatsRpcServer, type NatsRpcServer } from "./index.ts";
import { encodeRequest } from "./envelope.ts";
import { natsUrl } from "../../test/support/servers.ts";

const WINDOW = 4;
let nc: NatsConnection;
let server: NatsRpcServer;
let mesh: MeshClient;
let natsSubject: string;
// What the handlers observed, by the request's payload text.
const produced = new Map<string, number>();
const aborted = new Map<string, number>();
const finished = new Set<string>();

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
    services: [{ service: TestService, impl: { streamingOutputCall } as never }],
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

  it("refuses client and bidi streaming over NATS with UNIMPLEMENTED", async () => {
    const client = mesh.client(TestService);
    const err = await client.streamingInputCall((async function* () {
      yield { payload: { body: new Uint8Array(1) } };
    })()).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.Unimplemented);
    expect(server.inFlight).toBe(0);
  });
});
