import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { closeSessionGracefully } from "./graceful-goaway.ts";

const servers: http2.Http2Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function serverWithSession(): Promise<{ client: http2.ClientHttp2Session; serverSession: http2.ServerHttp2Session }> {
  const server = http2.createServer();
  servers.push(server);
  server.on("stream", (stream) => {
    stream.respond({ ":status": 200 });
    stream.end("served");
  });
  const serverSession = new Promise<http2.ServerHttp2Session>((resolve) => server.once("session", resolve));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  client.on("error", () => {});
  await new Promise((resolve) => client.once("connect", resolve));
  return { client, serverSession: await serverSession };
}

function get(client: http2.ClientHttp2Session): Promise<{ status: number | undefined; body: string; rstCode: number | undefined }> {
  return new Promise((resolve) => {
    const req = client.request({ ":path": "/" });
    let status: number | undefined;
    let body = "";
    req.on("response", (h) => (status = Number(h[":status"])));
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("error", () => {});
    req.on("close", () => resolve({ status, body, rstCode: req.rstCode }));
    req.end();
  });
}

describe("closing an HTTP/2 session in two GOAWAY steps", () => {
  it("every call sent while the session closes is served or refused as never processed (REFUSED_STREAM), none is left ambiguous", async () => {
    const { client, serverSession } = await serverWithSession();
    const goaways: number[] = [];
    client.on("goaway", (_code, last: number) => goaways.push(last));
    const calls: ReturnType<typeof get>[] = [];
    // A steady stream of calls (one per turn, bounded) while the server closes the session under them.
    let closing: Promise<void> | undefined;
    for (let i = 0; i < 200 && !client.closed && !client.destroyed; i++) {
      calls.push(get(client));
      if (i === 20) closing = closeSessionGracefully(serverSession, 1_000);
      await new Promise((r) => setImmediate(r));
    }
    await closing;
    const answers = await Promise.all(calls);
    const served = answers.filter((a) => a.status === 200 && a.body === "served").length;
    const refused = answers.filter((a) => a.status === undefined && a.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM).length;
    expect(served + refused, JSON.stringify(answers.filter((a) => a.status !== 200 && a.rstCode !== http2.constants.NGHTTP2_REFUSED_STREAM))).toBe(answers.length);
    expect(served).toBeGreaterThanOrEqual(20); // the calls sent before the close, at least, were answered
    // The first GOAWAY only stops new streams (the highest id); the client refuses its later calls itself.
    expect(goaways[0]).toBe(2 ** 31 - 1);
    expect(refused).toBeGreaterThan(0);
    client.destroy();
  });

  it("is a no-op on a session already closed", async () => {
    const { client, serverSession } = await serverWithSession();
    serverSession.close();
    await closeSessionGracefully(serverSession, 1_000);
    expect(serverSession.closed).toBe(true);
    client.destroy();
  });
});
