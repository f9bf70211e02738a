// CORS for browsers (preflight and actual responses) and connection-level limits: concurrent streams,
// idle connections, timeouts.

import * as http2 from "node:http2";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "./engines.ts";
import { connectGetQuery, startTestHost, type StartedHost } from "./harness.ts";

const UNARY = "/weft.testing.v1.TestService/UnaryCall";
const ALLOWED = "https://shop.example";
const OTHER = "https://evil.example";

function preflight(url: string, origin: string, method = "POST", headers = "content-type,connect-protocol-version,x-user-agent") {
  return fetch(`${url}${UNARY}`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers },
  });
}

for (const engine of engines) {
  describe(`CORS [${engine.name}]`, () => {
    let allowing: StartedHost;
    let closed: StartedHost;
    let any: StartedHost;
    beforeAll(async () => {
      [allowing, closed, any] = await Promise.all([
        startTestHost(engine, { corsAllowedOrigins: [ALLOWED] }),
        startTestHost(engine),
        startTestHost(engine, { corsAllowedOrigins: ["*"] }),
      ]);
    });
    afterAll(() => Promise.all([allowing?.host.close(), closed?.host.close(), any?.host.close()]));

    it("allows a preflight from a configured origin", async () => {
      const res = await preflight(allowing.url, ALLOWED);
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
      expect(res.headers.get("access-control-allow-methods")).toMatch(/POST/);
      expect(res.headers.get("access-control-allow-methods")).toMatch(/GET/);
      const allowed = (res.headers.get("access-control-allow-headers") ?? "").toLowerCase();
      for (const h of ["content-type", "connect-protocol-version", "x-user-agent"]) expect(allowed).toContain(h);
      expect(Number(res.headers.get("access-control-max-age"))).toBeGreaterThan(0);
      expect(res.headers.get("vary")).toMatch(/Origin/);
    });

    it("denies a preflight from another origin, and from any origin when none is configured", async () => {
      for (const res of [await preflight(allowing.url, OTHER), await preflight(closed.url, ALLOWED)]) {
        expect(res.status).toBe(403);
        expect(res.headers.get("access-control-allow-origin")).toBeNull();
      }
    });

    it("allows any origin with \"*\"", async () => {
      const res = await preflight(any.url, OTHER);
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe(OTHER);
    });

    it("lets the allowed origin read the response and the gRPC/Connect status headers", async () => {
      const res = await fetch(`${allowing.url}${UNARY}`, {
        method: "POST",
        headers: { origin: ALLOWED, "content-type": "application/json" },
        body: JSON.stringify({ responseSize: 1 }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
      const exposed = (res.headers.get("access-control-expose-headers") ?? "").toLowerCase();
      for (const h of ["grpc-status", "grpc-message", "grpc-status-details-bin", "connect-content-encoding"]) expect(exposed).toContain(h);
      await res.arrayBuffer();
      const get = await fetch(`${allowing.url}/weft.testing.v1.TestService/CacheableUnaryCall${connectGetQuery({})}`, { headers: { origin: ALLOWED } });
      expect(get.headers.get("access-control-allow-origin")).toBe(ALLOWED);
      await get.arrayBuffer();
    });

    it("gives another origin no CORS headers (the browser hides the response), but still serves non-browser callers", async () => {
      const res = await fetch(`${allowing.url}${UNARY}`, {
        method: "POST",
        headers: { origin: OTHER, "content-type": "application/json" },
        body: "{}",
      });
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      await res.arrayBuffer();
    });

    it("answers preflights over HTTP/2 too", async () => {
      const session = http2.connect(allowing.url);
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const req = session.request({ ":method": "OPTIONS", ":path": UNARY, origin: ALLOWED, "access-control-request-method": "POST" });
        req.on("response", resolve);
        req.on("error", reject);
        req.resume();
        req.end();
      });
      session.close();
      expect(headers[":status"]).toBe(204);
      expect(headers["access-control-allow-origin"]).toBe(ALLOWED);
    });
  });

  describe(`connection limits [${engine.name}]`, () => {
    let started: StartedHost;
    beforeAll(async () => {
      started = await startTestHost(engine, { maxConcurrentStreams: 7, idleTimeoutMs: 400 });
    });
    afterAll(() => started?.host.close());

    it("advertises maxConcurrentStreams in its HTTP/2 SETTINGS", async () => {
      const session = http2.connect(started.url);
      const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
      session.close();
      expect(settings.maxConcurrentStreams).toBe(7);
    });

    it("closes an idle HTTP/2 connection (GOAWAY) but keeps one with a slow call in progress", async () => {
      const idle = http2.connect(started.url);
      const busy = http2.connect(started.url);
      idle.on("error", () => {});
      busy.on("error", () => {});
      const idleClosed = new Promise<number>((resolve) => {
        const t0 = performance.now();
        idle.once("close", () => resolve(performance.now() - t0));
      });
      await new Promise((resolve) => idle.once("remoteSettings", resolve));
      const slow = busy.request({ ":method": "POST", ":path": UNARY, "content-type": "application/json" });
      const body = new Promise<string>((resolve) => {
        let text = "";
        slow.on("data", (d) => (text += d));
        slow.on("end", () => resolve(text));
      });
      slow.end(JSON.stringify({ sleepMs: 1_200, responseSize: 1 }));
      expect(await idleClosed).toBeLessThan(3_000);
      expect(JSON.parse(await body)).toMatchObject({ payload: { body: "AA==" } });
      busy.close();
    });

    it("closes an idle HTTP/1.1 keep-alive connection, and a socket that never sends a byte", async () => {
      const closedAfter = (socket: net.Socket) =>
        new Promise<number>((resolve) => {
          const t0 = performance.now();
          socket.on("data", () => {});
          socket.on("error", () => {});
          socket.once("close", () => resolve(performance.now() - t0));
        });
      const keepAlive = net.connect(started.port, "127.0.0.1");
      const keepAliveClosed = closedAfter(keepAlive);
      keepAlive.write(`POST ${UNARY} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`);
      const silent = net.connect(started.port, "127.0.0.1");
      const silentClosed = closedAfter(silent);
      expect(await keepAliveClosed).toBeLessThan(3_000);
      expect(await silentClosed).toBeLessThan(3_000);
    });
  });
}
