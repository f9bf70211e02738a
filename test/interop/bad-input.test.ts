// Wire-level bad input against Weft's engine: each case gets the right code and the server keeps
// answering. Raw HTTP/2 and HTTP/1.1 requests, no RPC library in the way.

import * as http2 from "node:http2";
import * as zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MATRIX_READ_MAX_BYTES, startWeft } from "./servers.ts";
import type { RunningServer } from "./servers.ts";

const EMPTY_CALL = "/weft.testing.v1.TestService/EmptyCall";
const UNARY_CALL = "/weft.testing.v1.TestService/UnaryCall";
const FULL_DUPLEX = "/weft.testing.v1.TestService/FullDuplexCall";

function frame(flags: number, payload: Buffer, declared = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(declared, 1);
  return Buffer.concat([head, payload]);
}

interface RawResult {
  status: number;
  headers: Record<string, unknown>;
  trailers: Record<string, unknown>;
  body: Buffer;
}

function h2call(session: http2.ClientHttp2Session, path: string, headers: Record<string, string>, body: Buffer): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ":method": "POST", ":path": path, te: "trailers", ...headers });
    let head: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    req.on("response", (h) => (head = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", reject);
    req.on("close", () => resolve({ status: Number(head[":status"]), headers: head, trailers, body: Buffer.concat(chunks) }));
    req.end(body);
  });
}

async function h1call(url: string, path: string, headers: Record<string, string>, body: Buffer): Promise<RawResult> {
  const res = await fetch(url + path, { method: "POST", headers, body: new Uint8Array(body) });
  return { status: res.status, headers: Object.fromEntries(res.headers as unknown as Iterable<[string, string]>), trailers: {}, body: Buffer.from(await res.arrayBuffer()) };
}

/** The grpc-status of a gRPC answer (trailers, or trailers-only headers). */
const grpcStatus = (r: RawResult) => Number(r.trailers["grpc-status"] ?? r.headers["grpc-status"]);

const bomb = zlib.gzipSync(Buffer.alloc(16 * 1024 * 1024)); // 16 MiB of zeros, ~16 KiB compressed
const GRPC = { "content-type": "application/grpc" };

interface BadCase {
  readonly name: string;
  readonly http: "h2" | "h1";
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** Expected HTTP status (Connect and plain HTTP answers). */
  readonly status?: number;
  /** Expected gRPC status (gRPC answers). */
  readonly grpc?: number;
  /** Expected Connect error code string in the JSON body. */
  readonly connectCode?: string;
}

const CASES: BadCase[] = [
  { name: "gRPC truncated frame", http: "h2", path: EMPTY_CALL, headers: GRPC, body: frame(0, Buffer.from([1, 2]), 10), grpc: 3 },
  { name: "gRPC truncated header", http: "h2", path: EMPTY_CALL, headers: GRPC, body: Buffer.from([0, 0, 0]), grpc: 3 },
  { name: "gRPC truncated frame in a stream", http: "h2", path: FULL_DUPLEX, headers: GRPC, body: frame(0, Buffer.from([1]), 9), grpc: 3 },
  { name: "gRPC oversize frame (declared)", http: "h2", path: UNARY_CALL, headers: GRPC, body: frame(0, Buffer.alloc(16), MATRIX_READ_MAX_BYTES + 1), grpc: 8 },
  { name: "gRPC oversize frame in a stream", http: "h2", path: FULL_DUPLEX, headers: GRPC, body: frame(0, Buffer.alloc(16), MATRIX_READ_MAX_BYTES + 1), grpc: 8 },
  { name: "gRPC gzip bomb", http: "h2", path: UNARY_CALL, headers: { ...GRPC, "grpc-encoding": "gzip" }, body: frame(1, bomb), grpc: 8 },
  { name: "gRPC gzip bomb in a stream", http: "h2", path: FULL_DUPLEX, headers: { ...GRPC, "grpc-encoding": "gzip" }, body: frame(1, bomb), grpc: 8 },
  { name: "gRPC unknown compression", http: "h2", path: EMPTY_CALL, headers: { ...GRPC, "grpc-encoding": "br" }, body: frame(0, Buffer.alloc(0)), grpc: 12 },
  { name: "gRPC compressed flag without encoding", http: "h2", path: EMPTY_CALL, headers: GRPC, body: frame(1, Buffer.from([1, 2, 3])), grpc: 13 },
  { name: "gRPC garbage message", http: "h2", path: UNARY_CALL, headers: GRPC, body: frame(0, Buffer.from([0xff, 0xff, 0xff])), grpc: 3 },
  { name: "gRPC invalid JSON", http: "h2", path: UNARY_CALL, headers: { "content-type": "application/grpc+json" }, body: frame(0, Buffer.from("{nope")), grpc: 3 },
  { name: "gRPC bad timeout", http: "h2", path: EMPTY_CALL, headers: { ...GRPC, "grpc-timeout": "soon" }, body: frame(0, Buffer.alloc(0)), grpc: 3 },
  { name: "gRPC unknown method", http: "h2", path: "/weft.testing.v1.TestService/Nope", headers: GRPC, body: frame(0, Buffer.alloc(0)), grpc: 12 },
  { name: "gRPC unknown service", http: "h2", path: "/nope.v1.Nope/Nope", headers: GRPC, body: frame(0, Buffer.alloc(0)), grpc: 12 },
  { name: "wrong content type (h2)", http: "h2", path: EMPTY_CALL, headers: { "content-type": "text/plain" }, body: Buffer.from("hi"), status: 415 },
  { name: "wrong content type (h1)", http: "h1", path: EMPTY_CALL, headers: { "content-type": "text/html" }, body: Buffer.from("hi"), status: 415 },
  { name: "Connect invalid JSON", http: "h1", path: UNARY_CALL, headers: { "content-type": "application/json" }, body: Buffer.from("{not json"), status: 400, connectCode: "invalid_argument" },
  { name: "Connect JSON of the wrong shape", http: "h1", path: UNARY_CALL, headers: { "content-type": "application/json" }, body: Buffer.from('{"responseSize":"many"}'), status: 400, connectCode: "invalid_argument" },
  { name: "Connect oversize body", http: "h1", path: UNARY_CALL, headers: { "content-type": "application/proto" }, body: Buffer.alloc(MATRIX_READ_MAX_BYTES + 1), status: 429, connectCode: "resource_exhausted" },
  { name: "Connect gzip bomb", http: "h1", path: UNARY_CALL, headers: { "content-type": "application/proto", "content-encoding": "gzip" }, body: bomb, status: 429, connectCode: "resource_exhausted" },
  { name: "Connect unknown compression", http: "h1", path: EMPTY_CALL, headers: { "content-type": "application/proto", "content-encoding": "zstd" }, body: Buffer.alloc(0), status: 501, connectCode: "unimplemented" },
  { name: "Connect corrupt gzip", http: "h1", path: UNARY_CALL, headers: { "content-type": "application/proto", "content-encoding": "gzip" }, body: Buffer.from("not gzip at all"), status: 400, connectCode: "invalid_argument" },
  { name: "Connect unknown method", http: "h1", path: "/weft.testing.v1.TestService/Nope", headers: { "content-type": "application/json" }, body: Buffer.from("{}"), status: 404 },
  { name: "Connect streaming content type on a unary method", http: "h1", path: EMPTY_CALL, headers: { "content-type": "application/connect+proto" }, body: frame(0, Buffer.alloc(0)), status: 415 },
  { name: "gRPC-Web truncated frame", http: "h1", path: EMPTY_CALL, headers: { "content-type": "application/grpc-web+proto" }, body: frame(0, Buffer.from([1]), 7), status: 200, grpc: 3 },
];

describe("bad input to Weft's engine", () => {
  let server: RunningServer;
  let session: http2.ClientHttp2Session;
  beforeAll(async () => {
    server = await startWeft();
    session = http2.connect(server.url);
  });
  afterAll(async () => {
    session?.close();
    await server?.close();
  });

  it.each(CASES)("$name", async (c) => {
    const r = c.http === "h2" ? await h2call(session, c.path, c.headers, c.body) : await h1call(server.url, c.path, c.headers, c.body);
    if (c.status !== undefined) expect(r.status).toBe(c.status);
    else expect(r.status).toBe(200);
    if (c.grpc !== undefined) {
      if (c.http === "h1") {
        // gRPC-Web: the status travels in the trailer frame at the end of the body.
        const text = r.body.subarray(r.body.lastIndexOf(0x80) + 5).toString();
        expect(text).toContain(`grpc-status: ${c.grpc}`);
      } else expect(grpcStatus(r)).toBe(c.grpc);
    }
    if (c.connectCode !== undefined) expect(JSON.parse(r.body.toString()).code).toBe(c.connectCode);
    // The server is still up and answering on the same connection.
    const ok = await h2call(session, EMPTY_CALL, GRPC, frame(0, Buffer.alloc(0)));
    expect(grpcStatus(ok)).toBe(0);
  });

  it("answers gzip with a gzip response when asked, and Connect GET for NO_SIDE_EFFECTS methods only", async () => {
    const r = await h2call(session, UNARY_CALL, { ...GRPC, "grpc-accept-encoding": "gzip" }, frame(0, Buffer.from([0x08, 0xa0, 0x9c, 0x01]))); // response_size 20000
    expect(r.headers["grpc-encoding"]).toBe("gzip");
    expect(r.body[0]).toBe(1);
    expect(zlib.gunzipSync(r.body.subarray(5)).length).toBeGreaterThan(20000);
    const get = await fetch(`${server.url}/weft.testing.v1.TestService/CacheableUnaryCall?connect=v1&encoding=json&message=${encodeURIComponent('{"responseSize":3}')}`);
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ payload: { body: "AAAA" }, servedBy: "weft" });
    const notAllowed = await fetch(`${server.url}/weft.testing.v1.TestService/UnaryCall?connect=v1&encoding=json&message=%7B%7D`);
    expect(notAllowed.status).toBe(405);
  });
});
