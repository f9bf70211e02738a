// The standard gRPC interop cases (grpc/grpc doc/interop-test-descriptions.md) from @grpc/grpc-js,
// whose messages come from the vendored grpc.testing protos through @grpc/proto-loader (not Weft's
// codecs), against grpc.testing.TestService served on a Weft host with Weft's engine.

import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHost, createWeftEngine, silentLogger } from "../../mesh/host/index.ts";
import type { Host } from "../../mesh/host/index.ts";
import { ECHO_INITIAL, ECHO_TRAILING_BIN, TestService, createGrpcTestingService } from "./grpc-testing-service.ts";

const PROTO_ROOT = path.resolve(import.meta.dirname, "../../proto");

let host: Host;
let client: any;
let unimplementedService: any;

beforeAll(async () => {
  host = createHost({ port: 0, engine: createWeftEngine(), tuneGc: false, logger: silentLogger });
  host.register(TestService, createGrpcTestingService());
  const { url } = await host.listen();
  const def = protoLoader.loadSync("grpc/testing/test.proto", { includeDirs: [PROTO_ROOT], longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as any;
  const target = url.replace("http://", "");
  client = new pkg.grpc.testing.TestService(target, grpc.credentials.createInsecure());
  unimplementedService = new pkg.grpc.testing.UnimplementedService(target, grpc.credentials.createInsecure());
});
afterAll(async () => {
  client?.close();
  unimplementedService?.close();
  await host?.close();
});

type Outcome = { res?: any; err?: grpc.ServiceError; header?: grpc.Metadata; trailer?: grpc.Metadata };

/** One unary call; resolves with the response or the error, and the metadata seen. */
function unary(target: any, method: string, req: unknown, meta = new grpc.Metadata(), opts: grpc.CallOptions = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = {};
    const call = target[method](req, meta, opts, (err: grpc.ServiceError | null, res: any) => {
      if (err !== null) out.err = err;
      else out.res = res;
    });
    call.on("metadata", (m: grpc.Metadata) => (out.header = m));
    call.on("status", (s: grpc.StatusObject) => {
      out.trailer = s.metadata;
      setImmediate(() => resolve(out));
    });
  });
}

/** Every message of a response stream, and the error it ended with (if any). */
function collect(call: grpc.ClientReadableStream<any> | grpc.ClientDuplexStream<any, any>): Promise<{ messages: any[]; err?: grpc.ServiceError; header?: grpc.Metadata; trailer?: grpc.Metadata }> {
  return new Promise((resolve) => {
    const messages: any[] = [];
    let err: grpc.ServiceError | undefined;
    let header: grpc.Metadata | undefined;
    call.on("metadata", (m: grpc.Metadata) => (header = m));
    call.on("data", (m: any) => messages.push(m));
    call.on("error", (e: grpc.ServiceError) => (err = e));
    call.on("status", (s: grpc.StatusObject) => setImmediate(() => resolve({ messages, err, header, trailer: s.metadata })));
  });
}

const zeros = (n: number) => ({ body: Buffer.alloc(n) });
const SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";

describe("gRPC interop cases (grpc-js -> grpc.testing.TestService on Weft)", () => {
  it("empty_unary", async () => {
    const r = await unary(client, "EmptyCall", {});
    expect(r.err).toBeUndefined();
    expect(r.res).toEqual({});
  });

  it("large_unary", async () => {
    const r = await unary(client, "UnaryCall", { responseSize: 314159, payload: zeros(271828) });
    expect(r.res.payload.body.length).toBe(314159);
  });

  it("client_streaming", async () => {
    const res = await new Promise<any>((resolve, reject) => {
      const call = client.StreamingInputCall((e: Error | null, r: any) => (e ? reject(e) : resolve(r)));
      for (const n of [27182, 8, 1828, 45904]) call.write({ payload: zeros(n) });
      call.end();
    });
    expect(res.aggregatedPayloadSize).toBe(74922);
  });

  it("server_streaming", async () => {
    const sizes = [31415, 9, 2653, 58979];
    const r = await collect(client.StreamingOutputCall({ responseParameters: sizes.map((size) => ({ size })) }));
    expect(r.err).toBeUndefined();
    expect(r.messages.map((m) => m.payload.body.length)).toEqual(sizes);
  });

  it("ping_pong", async () => {
    const sizes = [31415, 9, 2653, 58979];
    const requestSizes = [27182, 8, 1828, 45904];
    const call = client.FullDuplexCall();
    const got: number[] = [];
    const done = collect(call);
    call.on("data", () => {
      got.push(0);
      if (got.length < sizes.length) call.write({ responseParameters: [{ size: sizes[got.length] }], payload: zeros(requestSizes[got.length]) });
      else call.end();
    });
    call.write({ responseParameters: [{ size: sizes[0] }], payload: zeros(requestSizes[0]) });
    const r = await done;
    expect(r.err).toBeUndefined();
    expect(r.messages.map((m) => m.payload.body.length)).toEqual(sizes);
  });

  it("half_duplex (every request buffered, then answered in order)", async () => {
    const call = client.HalfDuplexCall();
    const done = collect(call);
    for (const size of [3, 1, 4]) call.write({ responseParameters: [{ size }] });
    call.end();
    expect((await done).messages.map((m) => m.payload.body.length)).toEqual([3, 1, 4]);
  });

  it("empty_stream", async () => {
    const call = client.FullDuplexCall();
    const done = collect(call);
    call.end();
    const r = await done;
    expect(r.err).toBeUndefined();
    expect(r.messages).toEqual([]);
  });

  it("custom_metadata (unary and full duplex)", async () => {
    const meta = () => {
      const m = new grpc.Metadata();
      m.set(ECHO_INITIAL, "test_initial_metadata_value");
      m.set(ECHO_TRAILING_BIN, Buffer.from([0xab, 0xab, 0xab]));
      return m;
    };
    const u = await unary(client, "UnaryCall", { responseSize: 314159, payload: zeros(271828) }, meta());
    expect(u.header?.get(ECHO_INITIAL)).toEqual(["test_initial_metadata_value"]);
    expect(u.trailer?.get(ECHO_TRAILING_BIN)).toEqual([Buffer.from([0xab, 0xab, 0xab])]);
    const call = client.FullDuplexCall(meta());
    const done = collect(call);
    call.write({ responseParameters: [{ size: 314159 }], payload: zeros(271828) });
    call.end();
    const s = await done;
    expect(s.messages).toHaveLength(1);
    expect(s.header?.get(ECHO_INITIAL)).toEqual(["test_initial_metadata_value"]);
    expect(s.trailer?.get(ECHO_TRAILING_BIN)).toEqual([Buffer.from([0xab, 0xab, 0xab])]);
  });

  it("status_code_and_message (unary and full duplex)", async () => {
    const u = await unary(client, "UnaryCall", { responseStatus: { code: 2, message: "test status message" } });
    expect(u.err?.code).toBe(2);
    expect(u.err?.details).toBe("test status message");
    const call = client.FullDuplexCall();
    const done = collect(call);
    call.write({ responseStatus: { code: 2, message: "test status message" } });
    call.end();
    const s = await done;
    expect(s.err?.code).toBe(2);
    expect(s.err?.details).toBe("test status message");
  });

  it("special_status_message", async () => {
    const u = await unary(client, "UnaryCall", { responseStatus: { code: 2, message: SPECIAL_MESSAGE } });
    expect(u.err?.code).toBe(2);
    expect(u.err?.details).toBe(SPECIAL_MESSAGE);
  });

  it("unimplemented_method", async () => {
    expect((await unary(client, "UnimplementedMethod", {})).err?.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it("unimplemented_service", async () => {
    expect((await unary(unimplementedService, "UnimplementedCall", {})).err?.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it("cancel_after_begin", async () => {
    const r = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.StreamingInputCall((e: grpc.ServiceError | null) => resolve(e));
      call.cancel();
    });
    expect(r?.code).toBe(grpc.status.CANCELLED);
  });

  it("cancel_after_first_response", async () => {
    const call = client.FullDuplexCall();
    const done = collect(call);
    call.once("data", () => call.cancel());
    call.write({ responseParameters: [{ size: 31415 }], payload: zeros(27182) });
    const r = await done;
    expect(r.messages).toHaveLength(1);
    expect(r.err?.code).toBe(grpc.status.CANCELLED);
  });

  it("timeout_on_sleeping_server", async () => {
    const call = client.FullDuplexCall({ deadline: Date.now() + 1 });
    const done = collect(call);
    call.write({ responseParameters: [{ size: 31415, intervalUs: 10_000_000 }], payload: zeros(27182) });
    const r = await done;
    expect(r.err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it("response intervals are honoured (streaming with interval_us)", async () => {
    const r = await collect(client.StreamingOutputCall({ responseParameters: [{ size: 1, intervalUs: 20_000 }, { size: 2, intervalUs: 20_000 }] }));
    expect(r.messages.map((m) => m.payload.body.length)).toEqual([1, 2]);
  });
});
