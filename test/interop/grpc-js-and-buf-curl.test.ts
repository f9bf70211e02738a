// Non-connect-es clients against Weft's engine: @grpc/grpc-js (generic client over the same
// descriptors) and `buf curl` in its three protocols.

import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EchoStatusSchema, TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { ECHO_INITIAL, ECHO_TRAILING_BIN } from "../support/test-service.ts";
import { MATRIX_READ_MAX_BYTES, grpcServiceDefinition, startWeft } from "./servers.ts";
import type { RunningServer } from "./servers.ts";

const run = promisify(execFile);
/** google.rpc.Status read by hand (code = 1, message = 2, details = 3 as Any: type_url = 1, value = 2). */
function decodeRpcStatus(bytes: Uint8Array): { code: number; message: string; details: { typeUrl: string; value: Uint8Array }[] } {
  const reader = new BinaryReader(bytes);
  const out = { code: 0, message: "", details: [] as { typeUrl: string; value: Uint8Array }[] };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) out.code = reader.int32();
    else if (field === 2) out.message = reader.string();
    else if (field === 3) {
      const any = new BinaryReader(reader.bytes());
      const detail: { typeUrl: string; value: Uint8Array } = { typeUrl: "", value: new Uint8Array() };
      while (any.pos < any.len) {
        const [f, w] = any.tag();
        if (f === 1) detail.typeUrl = any.string();
        else if (f === 2) detail.value = any.bytes();
        else any.skip(w);
      }
      out.details.push(detail);
    } else reader.skip(wireType);
  }
  return out;
}

const ROOT = path.resolve(import.meta.dirname, "../..");
const BUF = path.join(ROOT, "node_modules/.bin/buf");

let server: RunningServer;
beforeAll(async () => {
  server = await startWeft();
});
afterAll(async () => {
  await server?.close();
});

describe("grpc-js client -> Weft", () => {
  let client: any;
  beforeAll(() => {
    const Ctor = grpc.makeGenericClientConstructor(grpcServiceDefinition(TestService.methods), "TestService");
    client = new Ctor(server.url.replace("http://", ""), grpc.credentials.createInsecure());
  });
  afterAll(() => client?.close());

  const unary = (method: string, req: unknown, meta = new grpc.Metadata(), opts: grpc.CallOptions = {}) =>
    new Promise<{ res: any; header?: grpc.Metadata; trailer?: grpc.Metadata }>((resolve, reject) => {
      let header: grpc.Metadata | undefined;
      let trailer: grpc.Metadata | undefined;
      const call = client[method](req, meta, opts, (err: grpc.ServiceError | null, res: any) => (err ? reject(err) : setImmediate(() => resolve({ res, header, trailer }))));
      call.on("metadata", (m: grpc.Metadata) => (header = m));
      call.on("status", (s: grpc.StatusObject) => (trailer = s.metadata));
    });
  const status = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      return e as grpc.ServiceError;
    }
    throw new Error("expected an error");
  };
  const stream = <T>(s: NodeJS.EventEmitter) => new Promise<T[]>((resolve, reject) => {
    const out: T[] = [];
    s.on("data", (m: T) => out.push(m));
    s.on("error", reject);
    s.on("end", () => resolve(out));
  });

  const cases: { name: string; run: () => Promise<void> }[] = [
    { name: "empty unary", run: async () => expect((await unary("EmptyCall", {})).res.$typeName).toBe("weft.testing.v1.EmptyCallResponse") },
    { name: "large unary", run: async () => expect((await unary("UnaryCall", { responseSize: 314159, payload: { body: new Uint8Array(271828) } })).res.payload.body.length).toBe(314159) },
    {
      name: "client streaming", run: async () => {
        const r = await new Promise<any>((resolve, reject) => {
          const call = client.StreamingInputCall((e: Error | null, res: any) => (e ? reject(e) : resolve(res)));
          for (const n of [27182, 8, 1828, 45904]) call.write({ payload: { body: new Uint8Array(n) } });
          call.end();
        });
        expect(r.aggregatedPayloadSize).toBe(74922);
      },
    },
    {
      name: "server streaming", run: async () => {
        const sizes = [31415, 9, 2653, 58979];
        const got = await stream<any>(client.StreamingOutputCall({ responseParameters: sizes.map((size) => ({ size })) }));
        expect(got.map((m) => m.payload.body.length)).toEqual(sizes);
      },
    },
    {
      name: "bidi ping-pong", run: async () => {
        const sizes = [31415, 9, 2653, 58979];
        const call = client.FullDuplexCall();
        const got: number[] = [];
        const done = new Promise<void>((resolve, reject) => {
          call.on("data", (m: any) => {
            got.push(m.payload.body.length);
            if (got.length < sizes.length) call.write({ responseParameters: [{ size: sizes[got.length] }] });
            else call.end();
          });
          call.on("error", reject);
          call.on("end", resolve);
        });
        call.write({ responseParameters: [{ size: sizes[0] }] });
        await done;
        expect(got).toEqual(sizes);
      },
    },
    {
      name: "custom metadata", run: async () => {
        const meta = new grpc.Metadata();
        meta.set(ECHO_INITIAL, "test_initial_metadata_value");
        meta.set(ECHO_TRAILING_BIN, Buffer.from([0xab, 0xab, 0xab]));
        const { header, trailer } = await unary("UnaryCall", { responseSize: 1 }, meta);
        expect(header?.get(ECHO_INITIAL)).toEqual(["test_initial_metadata_value"]);
        expect(trailer?.get(ECHO_TRAILING_BIN)).toEqual([Buffer.from([0xab, 0xab, 0xab])]);
      },
    },
    {
      name: "status, message and details", run: async () => {
        const message = "\t\ttest status message\r\n😀 end";
        const e = await status(unary("UnaryCall", { responseStatus: { code: 2, message } }));
        expect(e.code).toBe(2);
        expect(e.details).toBe(message);
        const bin = e.metadata.get("grpc-status-details-bin")[0] as Buffer;
        // google.rpc.Status: the same code and message, and the EchoStatus detail the server attaches.
        const rpcStatus = decodeRpcStatus(bin);
        expect({ code: rpcStatus.code, message: rpcStatus.message }).toEqual({ code: 2, message });
        expect(rpcStatus.details.map((d) => d.typeUrl)).toEqual([`type.googleapis.com/${EchoStatusSchema.typeName}`]);
        const echoed = fromBinary(EchoStatusSchema, rpcStatus.details[0].value);
        expect({ code: echoed.code, message: echoed.message }).toEqual({ code: 2, message });
      },
    },
    { name: "unimplemented method", run: async () => expect((await status(unary("UnimplementedCall", {}))).code).toBe(grpc.status.UNIMPLEMENTED) },
    { name: "deadline", run: async () => expect((await status(unary("UnaryCall", { sleepMs: 5000 }, new grpc.Metadata(), { deadline: Date.now() + 100 }))).code).toBe(grpc.status.DEADLINE_EXCEEDED) },
    {
      name: "cancel after begin", run: async () => {
        const call = client.FullDuplexCall();
        const p = stream(call);
        setTimeout(() => call.cancel(), 30);
        expect((await status(p)).code).toBe(grpc.status.CANCELLED);
      },
    },
    { name: "limit + 1 is RESOURCE_EXHAUSTED", run: async () => expect((await status(unary("UnaryCall", { payload: { body: new Uint8Array(MATRIX_READ_MAX_BYTES) } }))).code).toBe(grpc.status.RESOURCE_EXHAUSTED) },
  ];
  it.each(cases)("$name", async (c) => c.run());
});

describe("buf curl -> Weft", () => {
  const curl = (protocol: string, method: string, data: string) =>
    run(BUF, ["curl", "--schema", path.join(ROOT, "proto"), "--protocol", protocol, ...(protocol === "grpc" ? ["--http2-prior-knowledge"] : []),
      "--data", data, `${server.url}/weft.testing.v1.TestService/${method}`], { cwd: ROOT, timeout: 20_000 });

  const protocols = ["connect", "grpc", "grpcweb"];
  it.each(protocols)("%s: unary and error status", async (protocol) => {
    const ok = await curl(protocol, "UnaryCall", '{"responseSize": 3}');
    expect(JSON.parse(ok.stdout)).toEqual({ payload: { body: "AAAA" }, servedBy: "weft" });
    const failed = await curl(protocol, "UnaryCall", '{"responseStatus": {"code": 5, "message": "no such thing"}}').then(() => undefined, (e: { stderr: string }) => e);
    expect(failed?.stderr).toContain("not_found");
    expect(failed?.stderr).toContain("no such thing");
  });
  it.each(protocols)("%s: server streaming", async (protocol) => {
    const out = await curl(protocol, "StreamingOutputCall", '{"responseParameters": [{"size": 1}, {"size": 2}]}');
    const sizes = out.stdout.trim().split(/\n(?=\{)/).map((s) => Buffer.from(JSON.parse(s).payload?.body ?? "", "base64").length);
    expect(sizes).toEqual([1, 2]);
  });
});

