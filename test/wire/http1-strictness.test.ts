// Issue 19, item 5: HTTP/1.1 requests the host must refuse at the door. Two Host headers are a 400
// (RFC 9112 section 3.2); `Expect: 100-continue` with a Content-Length over the read limit gets 413 at
// once, without the `100 Continue` that would invite the client to send it. Raw sockets, both engines.

import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engines } from "./engines.ts";
import { startTestHost, type StartedHost } from "./harness.ts";

const UNARY = "/weft.testing.v1.TestService/UnaryCall";

/** Sends `request` on a fresh connection; resolves with everything the server wrote before closing or `waitMs`. */
function exchange(port: number, request: string, waitMs = 2_000): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(request));
    let reply = "";
    socket.on("data", (d) => (reply += d));
    socket.on("error", () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ reply, closed: false });
    }, waitMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve({ reply, closed: true });
    });
  });
}

for (const engine of engines) {
  describe(`HTTP/1.1 requests refused at the door [${engine.name}]`, () => {
    let started: StartedHost;
    beforeAll(async () => {
      started = await startTestHost(engine, { readMaxBytes: 64 * 1024 });
    });
    afterAll(() => started?.host.close());

    it("answers 400 to two Host headers, and serves the same request with one", async () => {
      const request = (hosts: string) =>
        `POST ${UNARY} HTTP/1.1\r\n${hosts}content-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}`;
      const twice = await exchange(started.port, request("host: a.example\r\nhost: b.example\r\n"));
      expect(twice.reply).toMatch(/^HTTP\/1\.1 400 /);
      expect(twice.closed).toBe(true);
      const once = await exchange(started.port, request("host: a.example\r\n"));
      expect(once.reply).toMatch(/^HTTP\/1\.1 200 /);
    });

    it("answers 413 at once to Expect: 100-continue over the read limit, and 100 Continue under it", async () => {
      const expecting = (length: number) =>
        `POST ${UNARY} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nexpect: 100-continue\r\ncontent-length: ${length}\r\n\r\n`;
      const over = await exchange(started.port, expecting(100 * 1024 * 1024));
      expect(over.reply).toMatch(/^HTTP\/1\.1 413 /);
      expect(over.reply).not.toMatch(/100 Continue/);
      expect(over.closed).toBe(true);
      const under = await exchange(started.port, expecting(2), 500);
      expect(under.reply).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    });
  });
}
