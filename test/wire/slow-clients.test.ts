// Issue 19, item 4: slow clients hold nothing for long. With small limits (500 ms) so the suite runs
// fast: an HTTP/2 stream that sends HEADERS then nothing, or its body a byte at a time, is answered and
// closed at requestBodyTimeoutMs; the same for an HTTP/1.1 body; a connection that trickles the HTTP/2
// preface, or HTTP/1.1 request headers, is closed at firstRequestTimeoutMs; and past maxConnections a
// new connection is refused in its own protocol (HTTP/1.1 503, HTTP/2 GOAWAY) until one closes.
// Meanwhile a bystander's calls on the same host are served. Attackers are raw node:http2 and net sockets.

import * as http2 from "node:http2";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "./engines.ts";
import { startTestHost, type StartedHost } from "./harness.ts";

const UNARY = "/weft.testing.v1.TestService/UnaryCall";
const LIMIT_MS = 500;
/** A limit is enforced by a sweep: allow its interval and a loaded machine's scheduling on top. */
const SLACK_MS = 2_500;

/** Resolves with the ms from now until `socket` closes. */
function closedAfter(socket: net.Socket): Promise<number> {
  const t0 = performance.now();
  socket.on("data", () => {});
  socket.on("error", () => {});
  return new Promise((resolve) => socket.once("close", () => resolve(performance.now() - t0)));
}

/** Writes `text` one byte every `everyMs` until it is all sent or `closed` settles; returns the bytes written. */
function trickle(write: (chunk: string) => void, closed: Promise<unknown>, text: string, everyMs: number): Promise<number> {
  return new Promise((resolve) => {
    let i = 0;
    const stop = () => {
      clearInterval(timer);
      resolve(i);
    };
    const timer = setInterval(() => (i < text.length ? write(text[i++]) : stop()), everyMs);
    void closed.then(stop);
  });
}

/** A bystander's Connect unary call over HTTP/1.1 (fetch): resolves with its HTTP status. */
async function bystander(url: string): Promise<number> {
  const response = await fetch(`${url}${UNARY}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  await response.arrayBuffer();
  return response.status;
}

for (const engine of engines) {
  describe(`slow clients [${engine.name}]`, () => {
    let started: StartedHost;
    beforeAll(async () => {
      started = await startTestHost(engine, { requestBodyTimeoutMs: LIMIT_MS, firstRequestTimeoutMs: LIMIT_MS });
    });
    afterAll(() => started?.host.close());

    it.skipIf(engine.name !== "weft")("answers and closes HTTP/2 streams that send HEADERS then nothing, or a byte at a time", async () => {
      const session = http2.connect(started.url);
      session.on("error", () => {});
      const silent = session.request({ ":method": "POST", ":path": UNARY, "content-type": "application/grpc", te: "trailers" });
      const dribble = session.request({ ":method": "POST", ":path": UNARY, "content-type": "application/json" });
      const outcome = (stream: http2.ClientHttp2Stream) =>
        new Promise<{ ms: number; status: string }>((resolve) => {
          const t0 = performance.now();
          let status = "";
          stream.on("response", (h) => (status = String(h["grpc-status"] ?? h[":status"])));
          stream.on("trailers", (h) => (status = String(h["grpc-status"] ?? status)));
          stream.on("data", () => {});
          stream.on("error", () => {});
          stream.once("close", () => resolve({ ms: performance.now() - t0, status }));
        });
      const silentDone = outcome(silent);
      const dribbleDone = outcome(dribble);
      silent.write(Buffer.from([0, 0, 0, 0, 10])); // a message header promising 10 bytes that never come
      void trickle((c) => dribble.write(c), dribbleDone, '{"responseSize":1}', 100);
      expect(await bystander(started.url)).toBe(200);
      const [a, b] = await Promise.all([silentDone, dribbleDone]);
      expect(a.status).toBe("4"); // DEADLINE_EXCEEDED
      expect(b.status).toBe("504"); // Connect's HTTP status for deadline_exceeded
      for (const { ms } of [a, b]) {
        expect(ms).toBeGreaterThanOrEqual(LIMIT_MS - 50);
        expect(ms).toBeLessThan(LIMIT_MS + SLACK_MS);
      }
      expect(session.closed).toBe(false); // the connection stays usable: only the streams were slow
      session.close();
    });

    it("answers an HTTP/1.1 body that never completes with a timeout, then closes the connection", async () => {
      const socket = net.connect(started.port, "127.0.0.1");
      const closed = closedAfter(socket);
      let reply = "";
      socket.on("data", (d) => (reply += d));
      socket.write(`POST ${UNARY} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"res`);
      expect(await bystander(started.url)).toBe(200);
      const ms = await closed;
      expect(ms).toBeLessThan(LIMIT_MS + SLACK_MS);
      expect(reply).toMatch(/^HTTP\/1\.1 (408|504) /);
    });

    it("closes a connection that trickles the HTTP/2 preface, or HTTP/1.1 request headers", async () => {
      const preface = net.connect(started.port, "127.0.0.1");
      const prefaceClosed = closedAfter(preface);
      const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
      const HEADERS = `POST ${UNARY} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n`;
      const prefaceSent = trickle((c) => preface.write(c), prefaceClosed, PREFACE, 100);
      const headers = net.connect(started.port, "127.0.0.1");
      const headersClosed = closedAfter(headers);
      const headersSent = trickle((c) => headers.write(c), headersClosed, HEADERS, 100);
      expect(await bystander(started.url)).toBe(200);
      const outcomes = [
        { ms: await prefaceClosed, sent: await prefaceSent, length: PREFACE.length },
        { ms: await headersClosed, sent: await headersSent, length: HEADERS.length },
      ];
      for (const { ms, sent, length } of outcomes) {
        expect(ms).toBeLessThan(LIMIT_MS + SLACK_MS);
        expect(sent).toBeLessThan(length); // cut off before it was complete
      }
    });
  });

  describe(`connection cap [${engine.name}]`, () => {
    let started: StartedHost;
    beforeAll(async () => {
      started = await startTestHost(engine, { maxConnections: 3 });
    });
    afterAll(() => started?.host.close());

    it("refuses connections past maxConnections in their own protocol, and recovers when one closes", async () => {
      const held = await Promise.all(
        [1, 2, 3].map(
          () =>
            new Promise<http2.ClientHttp2Session>((resolve, reject) => {
              const session = http2.connect(started.url);
              session.once("remoteSettings", () => resolve(session));
              session.once("error", reject);
            }),
        ),
      );
      // HTTP/1.1: a plain 503 that says why, then close.
      const refused = await fetch(`${started.url}${UNARY}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(await refused.text()).toMatch(/too many connections/);
      // HTTP/2: SETTINGS then GOAWAY (ENHANCE_YOUR_CALM) naming the reason.
      const extra = http2.connect(started.url);
      const goaway = await new Promise<{ code: number; debug: string }>((resolve) => {
        extra.on("error", () => {});
        extra.once("goaway", (code, _last, data) => resolve({ code, debug: data?.toString() ?? "" }));
      });
      expect(goaway.code).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      expect(goaway.debug).toMatch(/too many connections/);
      extra.destroy();
      // One closes: a new caller gets in.
      await new Promise<void>((resolve) => held[0].close(() => resolve()));
      await expect.poll(() => bystander(started.url), { timeout: 5_000 }).toBe(200);
      for (const session of held.slice(1)) session.close();
    });
  });
}
