// Connect over NATS between real processes: codes, messages and metadata cross intact; the balancer
// still picks the instance; kill -9 during idempotent calls costs nothing; reply subjects are reused
// without ever handing one call another's reply.

import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { createNatsRpcServer } from "../../mesh/nats-rpc/index.ts";
import { nodeService } from "../../mesh/node/index.ts";
import { createNatsDiscovery, NO_LOAD, type EndpointSource, type NatsDiscovery } from "../../mesh/discovery/index.ts";
import { runLoad } from "./fixtures/load.ts";
import { startInstance, stop, until, type TestInstance } from "./fixtures/processes.ts";
import { natsUrl } from "../support/servers.ts";

const instances: TestInstance[] = [];
let nc: NatsConnection;
let discovery: NatsDiscovery;
let mesh: MeshClient;

beforeAll(async () => {
  const prefix = `weft.t${randomUUID().slice(0, 8)}.registry`;
  const env = { MESH_REGISTRY_PREFIX: prefix, MESH_RPC_PREFIX: `weft.t${randomUUID().slice(0, 8)}.rpc`, MESH_HEARTBEAT_MS: "250" };
  instances.push(...(await Promise.all(["x1", "x2", "x3"].map((n) => startInstance(n, env)))));
  nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
  discovery = createNatsDiscovery({ nc, subjectPrefix: prefix });
  await discovery.ready();
  await until(() => discovery.endpoints(TestService.typeName).length === 3, 15_000, "3 up");
  mesh = createMeshClient({ discovery, nc, defaultTransport: "nats" });
});

afterAll(async () => {
  mesh?.close();
  await discovery?.close();
  await nc?.close();
  await Promise.all(instances.map((i) => stop(i.proc)));
});

describe("Connect over NATS", () => {
  it("carries error codes and messages, request headers, response headers and trailers", async () => {
    const client = mesh.client(TestService);
    const err = await client
      .unaryCall({ responseStatus: { code: Code.NotFound, message: "no such thing: ü ✓ %" } })
      .then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.NotFound);
    expect(err?.rawMessage).toBe("no such thing: ü ✓ %");
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const res = await client.cacheableUnaryCall({}, {
      headers: { "x-echo": "hello" },
      onHeader: (h) => (header = h),
      onTrailer: (t) => (trailer = t),
    });
    expect(res.servedBy).toMatch(/^x\d$/);
    expect(header?.get("x-echo")).toBe("hello");
    expect(trailer?.get("x-echo-trailer")).toBe("hello");
    const unimplemented = await client.unimplementedCall({}).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(unimplemented?.code).toBe(Code.Unimplemented);
  });

  it("spreads calls over instances (per-instance subjects) and survives kill -9 with 0 failed idempotent calls", async () => {
    const client = mesh.client(TestService);
    let killed = false;
    const result = await runLoad(3000, 8, async (i) => {
      if (i === 1000 && !killed) {
        killed = true;
        instances[1].proc.kill("SIGKILL");
      }
      return (await client.cacheableUnaryCall({})).servedBy;
    }, { maxMs: 30_000 });
    const s = mesh.stats();
    console.log(`NATS kill -9: ${result.ok} ok, ${result.failed} failed, ${s.retries} retries, served ${JSON.stringify(Object.fromEntries(result.servedBy))} in ${result.elapsedMs} ms`);
    expect(result.failed).toBe(0);
    expect(result.servedBy.size).toBe(3);
  });

  // Regression: reply subjects are reused (<inbox>.<slot>). Were a slot whose call was abandoned handed
  // to another call, the abandoned call's late reply would answer the new one; the client retires such
  // slots and checks the call id every reply carries (this fails only with both defences removed).
  it("never answers a call with the late reply of an abandoned call", async () => {
    const natsSubject = `weft.t${randomUUID().slice(0, 8)}.rpc.late`;
    const server = createNatsRpcServer({
      nc,
      subject: natsSubject,
      services: [nodeService(TestService, {
        // "A..." answers after 100 ms, anything else after 200 ms; cancellation is ignored.
        async cacheableUnaryCall(req) {
          const text = new TextDecoder().decode(req.payload?.body);
          await sleep(text.startsWith("A") ? 100 : 200);
          return { servedBy: text };
        },
      })],
    });
    const endpoint = { instanceId: "late", services: [TestService.typeName], address: "", natsSubject, version: "", ready: true, load: NO_LOAD };
    const source: EndpointSource = { endpoints: () => [endpoint], subscribe: () => () => {}, ready: async () => {}, close: async () => {} };
    const local = createMeshClient({ discovery: source, nc, defaultTransport: "nats", retry: false });
    const client = local.client(TestService);
    const body = (s: string) => ({ payload: { body: new TextEncoder().encode(s) } });
    try {
      const pairs = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
        const ac = new AbortController();
        const abandoned = client.cacheableUnaryCall(body(`A${i}`), { signal: ac.signal }).then(() => "answered", (e: unknown) => ConnectError.from(e).code);
        await sleep(10);
        ac.abort();
        const [a, b] = await Promise.all([abandoned, client.cacheableUnaryCall(body(`B${i}`))]);
        return { a, b: b.servedBy, i };
      }));
      for (const { a, b, i } of pairs) {
        expect(a).toBe(Code.Canceled);
        expect(b).toBe(`B${i}`);
      }
    } finally {
      local.close();
      await server.drain(1000);
    }
  });
});
