// Hostile and broken input: every case is answered with the right code, nothing crashes, and a normal
// call still works afterwards.

import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import * as http2 from "node:http2";
import * as net from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnaryCallRequestSchema } from "../../gen/weft/testing/v1/test_pb.ts";
import { engines } from "./engines.ts";
import { grpcFrame, grpcJsTestClient, grpcJsUnary, rawH2Request, rawSocketExchange, startTestHost, type RawH2Response, type StartedHost } from "./harness.ts";

const READ_MAX_BYTES = 64 * 1024;
const MAX_HEADER_LIST_BYTES = 8 * 1024;
const UNARY = "/weft.testing.v1.TestService/UnaryCall";
const json = { "content-type": "application/json" };

/** The gRPC status of a raw response: in trailers, or in the headers of a trailers-only answer. */
function grpcStatusOf(res: RawH2Response): string | undefined {
  return (res.trailers?.["grpc-status"] ?? res.headers["grpc-status"]) as string | undefined;
}

/** One HTTP/2 session for many raw requests; resolves each with :status and grpc-status. */
function h2Client(url: string) {
  const session = http2.connect(url);
  session.on("error", () => {});
  const settled = new Promise<void>((resolve) => session.once("remoteSettings", () => resolve()));
  return {
    settled,
    close: () => session.close(),
    request(headers: http2.OutgoingHttpHeaders, body?: Uint8Array) {
      return new Promise<{ status?: number; grpcStatus?: string; grpcMessage?: string; error?: string; errorCode?: string; rstCode?: number }>((resolve) => {
        const stream = session.request({ ":method": "POST", ...headers });
        let status: number | undefined;
        let grpcStatus: string | undefined;
        let grpcMessage: string | undefined;
        stream.on("response", (h) => {
          status = h[":status"];
          grpcStatus = h["grpc-status"] as string | undefined;
          grpcMessage = h["grpc-message"] as string | undefined;
        });
        stream.on("trailers", (t) => {
          grpcStatus = t["grpc-status"] as string;
          grpcMessage = t["grpc-message"] as string | undefined;
        });
        stream.on("data", () => {});
        stream.on("end", () => resolve({ status, grpcStatus, grpcMessage }));
        stream.on("error", (err: NodeJS.ErrnoException) => resolve({ status, grpcStatus, error: err.message, errorCode: err.code, rstCode: stream.rstCode }));
        stream.end(body);
      });
    },
  };
}

for (const engine of engines) {
  describe(`bad input [${engine.name}]`, () => {
    let started: StartedHost;
    let url: string;

    beforeAll(async () => {
      started = await startTestHost(engine, { readMaxBytes: READ_MAX_BYTES, maxHeaderListBytes: MAX_HEADER_LIST_BYTES });
      url = started.url;
    });
    afterAll(() => started?.host.close());

    /** A normal call over each transport still works. */
    async function expectHealthy(): Promise<void> {
      const res = await fetch(`${url}${UNARY}`, { method: "POST", headers: json, body: JSON.stringify({ responseSize: 2 }) });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ payload: { body: "AAA=" } });
      const h2 = await rawH2Request(url, { ":path": UNARY, "content-type": "application/grpc", te: "trailers" }, grpcFrame(new Uint8Array(0)));
      expect(grpcStatusOf(h2)).toBe("0");
    }

    async function connectPost(body: string | Uint8Array, headers: Record<string, string> = json): Promise<{ status: number; body: { code?: string } | string }> {
      const res = await fetch(`${url}${UNARY}`, { method: "POST", headers, body: typeof body === "string" ? body : Buffer.from(body) });
      const text = await res.text();
      try {
        return { status: res.status, body: JSON.parse(text) };
      } catch {
        return { status: res.status, body: text };
      }
    }

    it("refuses a Connect body over readMaxBytes with resource_exhausted", async () => {
      const big = JSON.stringify({ payload: { body: Buffer.alloc(READ_MAX_BYTES).toString("base64") } });
      const out = await connectPost(big);
      expect(out.status).toBe(429);
      expect(out.body).toMatchObject({ code: "resource_exhausted" });
      await expectHealthy();
    });

    it("refuses a compressed body that inflates past readMaxBytes (zip bomb) with resource_exhausted", async () => {
      const inflated = toBinary(UnaryCallRequestSchema, create(UnaryCallRequestSchema, { payload: { body: new Uint8Array(1_000_000) } }));
      const out = await connectPost(gzipSync(inflated), { "content-type": "application/proto", "content-encoding": "gzip" });
      expect(out.status).toBe(429);
      expect(out.body).toMatchObject({ code: "resource_exhausted" });
      await expectHealthy();
    });

    it("refuses a gRPC message over readMaxBytes with RESOURCE_EXHAUSTED, from its declared length and from a real client", async () => {
      const declared = await rawH2Request(url, { ":path": UNARY, "content-type": "application/grpc", te: "trailers" }, grpcFrame(new Uint8Array(16), 50_000_000));
      expect(grpcStatusOf(declared)).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
      const client = grpcJsTestClient(started.port);
      try {
        const out = await grpcJsUnary(client, "UnaryCall", { payload: { body: Buffer.alloc(READ_MAX_BYTES + 1) } });
        expect(out.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      } finally {
        client.close();
      }
      await expectHealthy();
    });

    it("answers truncated gRPC frames with INVALID_ARGUMENT", async () => {
      for (const body of [grpcFrame(new Uint8Array(10), 100), Buffer.from([0, 0, 0]), Buffer.from([0])]) {
        const out = await rawH2Request(url, { ":path": UNARY, "content-type": "application/grpc", te: "trailers" }, body);
        expect(grpcStatusOf(out), body.toString("hex")).toBe(String(grpc.status.INVALID_ARGUMENT));
      }
      await expectHealthy();
    });

    it("answers invalid JSON and wrongly typed JSON with invalid_argument", async () => {
      for (const body of ['{"responseSize":', '{"responseSize":"abc"}', "[1,2,3]", "\u0000\u0001", '{"payload":{"body":"!!not base64!!"}}']) {
        const out = await connectPost(body);
        expect(out.status, body).toBe(400);
        expect(out.body, body).toMatchObject({ code: "invalid_argument" });
      }
      await expectHealthy();
    });

    it("answers a body that is not valid binary Protobuf with INVALID_ARGUMENT in every protocol", async () => {
      const garbage = Buffer.from([0xff, 0xff, 0xff]);
      const connect = await connectPost(garbage, { "content-type": "application/proto" });
      expect(connect.status).toBe(400);
      expect(connect.body).toMatchObject({ code: "invalid_argument" });
      const grpcOut = await rawH2Request(url, { ":path": UNARY, "content-type": "application/grpc", te: "trailers" }, grpcFrame(garbage));
      expect(grpcStatusOf(grpcOut)).toBe(String(grpc.status.INVALID_ARGUMENT));
      const web = await rawH2Request(url, { ":path": UNARY, "content-type": "application/grpc-web+proto" }, grpcFrame(garbage));
      // gRPC-Web carries the status in the headers (trailers-only) or in a trailer frame (flag 0x80).
      const webStatus = web.headers["grpc-status"] ?? (web.body[0] === 0x80 ? /grpc-status: ?(\d+)/i.exec(web.body.subarray(5).toString("latin1"))?.[1] : undefined);
      expect(webStatus).toBe("3");
      await expectHealthy();
    });

    it("answers a wrong content type with 415, over HTTP/1.1 and HTTP/2", async () => {
      for (const type of ["text/plain", "application/xml", "multipart/form-data; boundary=x"]) {
        const h1 = await connectPost("{}", { "content-type": type });
        expect(h1.status, type).toBe(415);
        const h2 = await rawH2Request(url, { ":path": UNARY, "content-type": type }, Buffer.from("{}"));
        expect(h2.headers[":status"], type).toBe(415);
      }
      await expectHealthy();
    });

    it("answers garbage bytes on the socket with 400 or GOAWAY and closes it", async () => {
      const http1Garbage = await rawSocketExchange(started.port, Buffer.from("\x00\x01\x02garbage\r\n\r\n", "latin1"));
      expect(http1Garbage.toString("latin1")).toMatch(/^HTTP\/1\.1 400/);
      // A valid preface followed by garbage instead of SETTINGS: the server answers with GOAWAY (type 7).
      const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
      const h2Garbage = await rawSocketExchange(started.port, Buffer.concat([preface, Buffer.from("this is not a frame at all")]));
      const frameTypes: number[] = [];
      for (let at = 0; at + 9 <= h2Garbage.length; at += 9 + h2Garbage.readUIntBE(at, 3)) frameTypes.push(h2Garbage[at + 3]);
      expect(frameTypes).toContain(7);
      // Half a preface, then the client hangs up; and random binary noise.
      await rawSocketExchange(started.port, preface.subarray(0, 10), 200);
      await rawSocketExchange(started.port, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
      await expectHealthy();
    });

    it("refuses a header list over maxHeaderListBytes (431 on HTTP/1.1, stream refused on HTTP/2)", async () => {
      const big = "a".repeat(MAX_HEADER_LIST_BYTES + 1024);
      const h1 = await fetch(`${url}${UNARY}`, { method: "POST", headers: { ...json, "x-big": big }, body: "{}" });
      expect(h1.status).toBe(431);
      const client = h2Client(url);
      await client.settled;
      // nghttp2 applies the limit once the client has acknowledged the server's SETTINGS.
      await client.request({ ":path": UNARY, "content-type": "application/json" }, Buffer.from("{}"));
      const out = await client.request({ ":path": UNARY, "content-type": "application/json", "x-big": big }, Buffer.from("{}"));
      client.close();
      // nghttp2 resets the stream before any response: ENHANCE_YOUR_CALM, never a handler's answer.
      expect(out.status).toBeUndefined();
      expect(out.errorCode).toBe("ERR_HTTP2_STREAM_ERROR");
      expect(out.rstCode).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      await expectHealthy();
    });

    it("survives clients that vanish mid-call (stream reset, socket destroyed) and forgets their calls", async () => {
      // HTTP/2: reset a slow unary call and a server stream after its first message.
      const session = http2.connect(url);
      session.on("error", () => {});
      const slow = session.request({ ":method": "POST", ":path": UNARY, "content-type": "application/json" });
      slow.on("error", () => {});
      slow.end(JSON.stringify({ sleepMs: 5_000 }));
      const streaming = session.request({ ":method": "POST", ":path": "/weft.testing.v1.TestService/StreamingOutputCall", "content-type": "application/connect+json" });
      streaming.on("error", () => {});
      const first = Buffer.from(JSON.stringify({ responseParameters: [{ size: 1 }, { size: 1, intervalUs: 5_000_000 }] }));
      streaming.end(grpcFrame(first));
      await new Promise((resolve) => streaming.once("data", resolve));
      await expect.poll(() => started.host.inFlight).toBe(2);
      // HTTP/1.1: a socket destroyed half-way through a request body, and one during a slow call.
      const half = net.connect(started.port, "127.0.0.1");
      half.on("error", () => {});
      half.write(`POST ${UNARY} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"resp`);
      const during = net.connect(started.port, "127.0.0.1");
      during.on("error", () => {});
      const body = JSON.stringify({ sleepMs: 5_000 });
      during.write(`POST ${UNARY} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      await expect.poll(() => started.host.inFlight).toBe(3);
      slow.close(http2.constants.NGHTTP2_CANCEL);
      streaming.close(http2.constants.NGHTTP2_CANCEL);
      half.destroy();
      during.destroy();
      session.destroy();
      // Every abandoned call ends (its handler is cancelled), so a later drain will not wait for them.
      await expect.poll(() => started.host.inFlight, { timeout: 3_000 }).toBe(0);
      // Regression: a handler rejecting with the AbortError of a vanished client is not a handler failure.
      expect(started.logger.errors.filter((e) => e.message === "handler failed")).toEqual([]);
      await expectHealthy();
    });

    it("answers 1,000 malformed requests in a row, each with the right code, then serves normally", async () => {
      const h2 = h2Client(url);
      await h2.settled;
      const kinds = [
        async () => (await connectPost('{"responseSize":')).status === 400,
        async () => (await connectPost("{}", { "content-type": "text/plain" })).status === 415,
        async () => (await h2.request({ ":path": UNARY, "content-type": "application/grpc", te: "trailers" }, grpcFrame(new Uint8Array(4), 64))).grpcStatus === "3",
        async () => (await h2.request({ ":path": UNARY, "content-type": "application/grpc", te: "trailers" }, grpcFrame(Buffer.from([0xff, 0xff])))).grpcStatus === "3",
        async () => (await h2.request({ ":path": "/no.Such/Method", "content-type": "application/grpc", te: "trailers" }, grpcFrame(new Uint8Array(0)))).grpcStatus === "12",
        async () => (await h2.request({ ":path": UNARY, "content-type": "application/grpc", te: "trailers" }, grpcFrame(new Uint8Array(8), 10_000_000))).grpcStatus === "8",
      ];
      const TOTAL = 1_000;
      const CONCURRENCY = 16;
      let next = 0;
      let wrong = 0;
      const deadline = Date.now() + 60_000;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < TOTAL && Date.now() < deadline) {
            const i = next++;
            if (!(await kinds[i % kinds.length]())) wrong++;
          }
        }),
      );
      h2.close();
      expect(next).toBe(TOTAL);
      expect(wrong).toBe(0);
      await expectHealthy();
      expect(started.host.inFlight).toBe(0);
      expect(started.logger.errors.filter((e) => e.message === "handler failed").map((e) => JSON.stringify(e.fields))).toEqual([]);
    }, 90_000);
  });
}
