// Engine and transport behaviour beyond single calls: TLS with ALPN (h2 and http/1.1 on one port),
// cancellation and deadlines seen by the handler, server shutdown, reconnection after the server goes
// away, bounded client concurrency, and connect-es interceptors on the server.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as http2 from "node:http2";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { startHost } from "./servers.ts";
import { testServiceRegistration } from "../support/test-service.ts";
import { createWeftConnectTransport, createWeftGrpcTransport } from "../../mesh/transport/index.ts";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";

async function code(p: Promise<unknown>): Promise<Code> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e).code;
  }
  throw new Error("the call succeeded");
}

describe("TLS with ALPN", () => {
  let dir: string;
  let key: string;
  let cert: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "weft-tls-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
    key = readFileSync(path.join(dir, "key.pem"), "utf8");
    cert = readFileSync(path.join(dir, "cert.pem"), "utf8");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("serves h2 (Weft gRPC client) and http/1.1 (Weft and connect-node Connect clients) on one TLS port", async () => {
    const server = await startHost([testServiceRegistration()], { tls: { key, cert } });
    expect(server.url.startsWith("https://")).toBe(true);
    const grpcT = createWeftGrpcTransport({ baseUrl: server.url, tls: { ca: cert } });
    const connectT = createWeftConnectTransport({ baseUrl: server.url, tls: { ca: cert } });
    try {
      expect((await createClient(TestService, grpcT).unaryCall({ responseSize: 5 })).payload?.body.length).toBe(5);
      expect((await createClient(TestService, connectT).unaryCall({ responseSize: 6 })).payload?.body.length).toBe(6);
      const cn = createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", nodeOptions: { ca: cert } });
      expect((await createClient(TestService, cn).unaryCall({ responseSize: 7 })).payload?.body.length).toBe(7);
      // A client that does not trust the certificate cannot call.
      const untrusted = createWeftGrpcTransport({ baseUrl: server.url });
      expect(await code(createClient(TestService, untrusted).emptyCall({}))).toBe(Code.Unavailable);
      untrusted.close();
    } finally {
      grpcT.close();
      connectT.close();
      await server.close();
    }
  });

  it("with tls.ca, admits a client certificate that CA issued and refuses a client without one (mutual TLS)", async () => {
    // The self-signed server certificate doubles as the client CA and the client's own certificate.
    const server = await startHost([testServiceRegistration()], { tls: { key, cert, ca: cert } });
    const withCert = createWeftGrpcTransport({ baseUrl: server.url, tls: { ca: cert, cert, key } });
    const withoutCert = createWeftGrpcTransport({ baseUrl: server.url, tls: { ca: cert } });
    const connectWithCert = createWeftConnectTransport({ baseUrl: server.url, tls: { ca: cert, cert, key } });
    try {
      expect((await createClient(TestService, withCert).unaryCall({ responseSize: 3 })).payload?.body.length).toBe(3);
      expect((await createClient(TestService, connectWithCert).unaryCall({ responseSize: 4 })).payload?.body.length).toBe(4);
      expect(await code(createClient(TestService, withoutCert).emptyCall({}))).toBe(Code.Unavailable);
    } finally {
      withCert.close();
      withoutCert.close();
      connectWithCert.close();
      await server.close();
    }
  });
});

describe("lifecycle", () => {
  it("lets the handler see client cancellation and deadlines through its signal", async () => {
    const aborted: [string, Code][] = [];
    const server = await startHost([testServiceRegistration({ onAbort: (m, r) => aborted.push([m, ConnectError.from(r).code]) })]);
    const t = createWeftGrpcTransport({ baseUrl: server.url });
    const client = createClient(TestService, t);
    try {
      // Raw request: only the server's timer runs (a client timer would race it and cancel first).
      const session = http2.connect(server.url);
      const status = await new Promise<unknown>((resolve) => {
        const req = session.request({ ":method": "POST", ":path": "/weft.testing.v1.TestService/UnaryCall", "content-type": "application/grpc", te: "trailers", "grpc-timeout": "50m" });
        let head: Record<string, unknown> = {};
        req.on("response", (h) => (head = h));
        req.on("trailers", (h) => (head = { ...head, ...h }));
        req.on("close", () => resolve(head["grpc-status"]));
        req.resume();
        req.end(Buffer.from([0, 0, 0, 0, 3, 0x20, 0x88, 0x27])); // sleep_ms: 5000
      });
      session.close();
      expect(status).toBe(String(Code.DeadlineExceeded));
      const ac = new AbortController();
      const cancelled = code(client.unaryCall({ sleepMs: 5000 }, { signal: ac.signal }));
      // Cancel once the call runs on the server: a fixed delay could cancel it before it left.
      await expect.poll(() => server.inFlight, { timeout: 10_000 }).toBe(1);
      ac.abort();
      expect(await cancelled).toBe(Code.Canceled);
      await expect.poll(() => aborted.length).toBe(2);
      expect(aborted).toContainEqual(["UnaryCall", Code.DeadlineExceeded]);
      expect(aborted).toContainEqual(["UnaryCall", Code.Canceled]);
    } finally {
      t.close();
      await server.close();
    }
  });

  it("aborts in-flight handlers on close and reconnects once a server is back on the port", async () => {
    const aborted: Code[] = [];
    const first = await startHost([testServiceRegistration({ onAbort: (_m, r) => aborted.push(ConnectError.from(r).code) })]);
    const t = createWeftGrpcTransport({ baseUrl: first.url });
    const client = createClient(TestService, t);
    await client.emptyCall({});
    const inflight = code(client.unaryCall({ sleepMs: 10_000 }));
    await new Promise((r) => setTimeout(r, 50));
    await first.close();
    // The host's shutdown answers what it aborts with UNAVAILABLE ("server is shutting down"), never INTERNAL.
    expect(await inflight).toBe(Code.Unavailable);
    expect(aborted).toContain(Code.Unavailable);
    // Nothing listens now: the call provably never left, and says so (safe to retry elsewhere).
    const refused = await client.emptyCall({}).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(refused?.code).toBe(Code.Unavailable);
    expect(refused?.metadata.get("weft-refused")).toBe("unsent");
    const second = await startHost([testServiceRegistration()], { port: first.port });
    try {
      await client.emptyCall({});
    } finally {
      t.close();
      await second.close();
    }
  });

  it("bounds concurrency: queues past maxConcurrentCalls, RESOURCE_EXHAUSTED past maxQueuedCalls, counts outstanding", async () => {
    const server = await startHost([testServiceRegistration()]);
    const t = createWeftGrpcTransport({ baseUrl: server.url, maxConcurrentCalls: 2, maxQueuedCalls: 1 });
    const client = createClient(TestService, t);
    try {
      const calls = [0, 1, 2].map(() => client.unaryCall({ sleepMs: 200 }));
      await new Promise((r) => setTimeout(r, 20));
      expect(t.outstanding).toBe(3);
      expect(await code(client.emptyCall({}))).toBe(Code.ResourceExhausted);
      await Promise.all(calls);
      expect(t.outstanding).toBe(0);
    } finally {
      t.close();
      await server.close();
    }
  });
});

describe("server interceptors (connect-es semantics)", () => {
  it("runs outermost first, sees headers, may set response headers and reject before the handler", async () => {
    const order: string[] = [];
    const outer: Interceptor = (next) => async (req) => {
      order.push(`outer ${req.method.name}`);
      if (req.header.get("x-deny") === "yes") throw new ConnectError("denied", Code.PermissionDenied);
      const res = await next(req);
      res.header.set("x-outer", "1");
      return res;
    };
    const inner: Interceptor = (next) => async (req) => {
      order.push(`inner ${req.stream ? "stream" : "unary"}`);
      return next(req);
    };
    const server = await startHost([testServiceRegistration()], { interceptors: [outer, inner] });
    const t = createWeftGrpcTransport({ baseUrl: server.url });
    const client = createClient(TestService, t);
    try {
      let header: Headers | undefined;
      await client.unaryCall({ responseSize: 1 }, { onHeader: (h) => (header = h) });
      expect(header?.get("x-outer")).toBe("1");
      expect(order).toEqual(["outer UnaryCall", "inner unary"]);
      expect(await code(client.unaryCall({}, { headers: { "x-deny": "yes" } }))).toBe(Code.PermissionDenied);
      const sizes: number[] = [];
      for await (const m of client.streamingOutputCall({ responseParameters: [{ size: 2 }, { size: 3 }] }, { onHeader: (h) => (header = h) })) sizes.push(m.payload?.body.length ?? 0);
      expect(sizes).toEqual([2, 3]);
      expect(header?.get("x-outer")).toBe("1");
      expect(order.slice(-1)).toEqual(["inner stream"]);
    } finally {
      t.close();
      await server.close();
    }
  });
});

describe("client interceptors on Weft's transports", () => {
  it.each([
    ["gRPC", (baseUrl: string, interceptors: Interceptor[]) => createWeftGrpcTransport({ baseUrl, interceptors })],
    ["Connect", (baseUrl: string, interceptors: Interceptor[]) => createWeftConnectTransport({ baseUrl, interceptors })],
  ])("%s: add request headers, see response headers, wrap unary and streaming calls", async (_name, make) => {
    const seen: string[] = [];
    const addHeader: Interceptor = (next) => async (req) => {
      req.header.set("x-grpc-test-echo-initial", "from-interceptor");
      const res = await next(req);
      seen.push(`${req.stream ? "stream" : "unary"} ${req.url.endsWith(`/${req.method.name}`)} ${res.header.get("x-grpc-test-echo-initial")}`);
      return res;
    };
    const server = await startHost([testServiceRegistration()]);
    const t = make(server.url, [addHeader]);
    const client = createClient(TestService, t);
    try {
      await client.unaryCall({ responseSize: 1 });
      const got: number[] = [];
      for await (const m of client.streamingOutputCall({ responseParameters: [{ size: 4 }] })) got.push(m.payload?.body.length ?? 0);
      expect(got).toEqual([4]);
      expect(seen).toEqual(["unary true from-interceptor", "stream true from-interceptor"]);
    } finally {
      t.close();
      await server.close();
    }
  });
});

describe("host limits", () => {
  it("enforces writeMaxBytes, the header size limit and announces maxConcurrentStreams", async () => {
    const server = await startHost([testServiceRegistration()], { writeMaxBytes: 1000, maxHeaderListBytes: 4096, maxConcurrentStreams: 7 });
    const t = createWeftGrpcTransport({ baseUrl: server.url });
    try {
      const client = createClient(TestService, t);
      expect((await client.unaryCall({ responseSize: 900 })).payload?.body.length).toBe(900);
      expect(await code(client.unaryCall({ responseSize: 2000 }))).toBe(Code.ResourceExhausted);
      const big = await fetch(`${server.url}/weft.testing.v1.TestService/EmptyCall`, {
        method: "POST", headers: { "content-type": "application/json", "x-big": "a".repeat(8000) }, body: "{}",
      });
      expect(big.status).toBe(431);
      const session = http2.connect(server.url);
      const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
      session.close();
      expect(settings.maxConcurrentStreams).toBe(7);
      expect(settings.maxHeaderListSize).toBe(4096);
    } finally {
      t.close();
      await server.close();
    }
  });
});
