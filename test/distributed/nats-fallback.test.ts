// The way out when NATS is unreachable: a mesh client on the nats transport, under bounded load of an
// idempotent method, sees its (private) nats-server killed: calls go over gRPC (HTTP/2) to the same
// instances at their announced addresses, none fails, non-idempotent calls in flight at the moment of
// loss fail with UNAVAILABLE, discovery keeps its table, and calls return to NATS once it is back.
// Streams: one in flight at the loss fails with UNAVAILABLE and its handler is stopped; new client and
// bidi streams go over gRPC during the outage and over NATS after it. A hung nats-server (SIGSTOP: no
// socket closes) is found by the client's pings and falls back the same way.

import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery, NO_LOAD, type EndpointSource, type NatsDiscovery } from "../../mesh/discovery/index.ts";
import { createNatsRpcServer } from "../../mesh/nats-rpc/index.ts";
import { testServiceRegistration } from "../support/test-service.ts";
import { startHost } from "../interop/servers.ts";
import { createMetrics } from "../../mesh/telemetry/index.ts";
import { privateNats, type PrivateServer } from "../support/private-servers.ts";
import { runLoad } from "./fixtures/load.ts";
import { startInstance, stop, until, type TestInstance } from "./fixtures/processes.ts";

const SERVICE = TestService.typeName;
const instances: TestInstance[] = [];
let nats: PrivateServer | undefined;
let nc: NatsConnection | undefined;
let discovery: NatsDiscovery | undefined;
let mesh: MeshClient | undefined;

afterAll(async () => {
  mesh?.close();
  await discovery?.close();
  await nc?.close().catch(() => undefined);
  await Promise.all(instances.map((i) => stop(i.proc)));
  await nats?.dispose();
});

describe("NATS fallback", () => {
  it("keeps idempotent calls succeeding over gRPC while NATS is down, and returns to NATS when it is back", async () => {
    nats = await privateNats();
    const prefix = `weft.t${randomUUID().slice(0, 8)}`;
    const env = { NATS_URL: nats.url, MESH_REGISTRY_PREFIX: `${prefix}.registry`, MESH_RPC_PREFIX: `${prefix}.rpc`, MESH_HEARTBEAT_MS: "250" };
    instances.push(...(await Promise.all(["fb1", "fb2"].map((id) => startInstance(id, env)))));
    nc = await connect({ servers: nats.url, noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    discovery = createNatsDiscovery({ nc, subjectPrefix: `${prefix}.registry` });
    await discovery.ready();
    await until(() => discovery!.endpoints(SERVICE).length === 2, 15_000, "both up");
    const logs: string[] = [];
    const metrics = createMetrics({ processMetrics: false });
    mesh = createMeshClient({
      discovery, nc, defaultTransport: "nats", metrics,
      logger: { error: (m, f) => void logs.push(`error ${m} ${JSON.stringify(f)}`), info: (m, f) => void logs.push(`info ${m} ${JSON.stringify(f)}`) },
    });
    const client = mesh.client(TestService);
    const fallbackAttempts = () => mesh!.stats().fallbackAttempts;
    const fallbackActive = () => mesh!.stats().natsFallback?.active === true;

    // Over NATS to begin with.
    const before = await runLoad(200, 4, async () => (await client.cacheableUnaryCall({})).servedBy);
    expect(before.failed).toBe(0);
    expect(fallbackAttempts()).toBe(0);

    // Non-idempotent calls in flight when NATS goes: a clear UNAVAILABLE, not a 30 s wait.
    const inFlight = Array.from({ length: 3 }, () => client.unaryCall({ sleepMs: 20_000 }).then(() => undefined, (e: unknown) => ConnectError.from(e)));
    await until(() => mesh!.stats().endpoints.reduce((n, e) => n + e.outstanding, 0) === 3, 10_000, "3 calls in flight");

    let phase: "up" | "down" | "back" = "up";
    let downAt = 0;
    const outage = (async () => {
      await nats!.stop(); // SIGKILL
      await until(fallbackActive, 10_000, "fallback on");
      phase = "down";
      expect(discovery!.connected).toBe(false);
      // Calls keep going over gRPC for a while; the table is kept though no heartbeat comes.
      downAt = fallbackAttempts();
      await until(() => fallbackAttempts() >= downAt + 300, 30_000, "300 calls over the fallback");
      expect(discovery!.endpoints(SERVICE).length).toBe(2);
      await nats!.start();
      await until(() => !fallbackActive(), 20_000, "back on NATS");
      phase = "back";
    })();
    const load = await runLoad(100_000, 8, async () => (await client.cacheableUnaryCall({})).servedBy, { maxMs: 90_000, until: () => phase === "back" });
    await outage;
    console.log(`nats fallback: ${load.ok} ok, ${load.failed} failed across the outage; ${fallbackAttempts()} attempts over gRPC; codes ${JSON.stringify([...load.codes])} ${load.messages.join(" | ")}`);
    expect(load.failed).toBe(0);
    expect(fallbackAttempts()).toBeGreaterThanOrEqual(300);

    const lost = await Promise.all(inFlight);
    for (const err of lost) {
      expect(err?.code).toBe(Code.Unavailable);
      expect(err?.rawMessage).toContain("NATS connection was lost");
    }

    // Back on NATS: new calls do not take the fallback.
    const settled = fallbackAttempts();
    const after = await runLoad(300, 4, async () => (await client.cacheableUnaryCall({})).servedBy);
    expect(after.failed).toBe(0);
    expect(fallbackAttempts()).toBe(settled);

    // Logged and counted.
    expect(logs.some((l) => l.startsWith("error NATS connection lost"))).toBe(true);
    expect(logs.some((l) => /^info NATS connection back.*"fallbackMs":\d+/.test(l))).toBe(true);
    const text = await metrics.render();
    expect(text).toMatch(/weft_rpc_client_nats_fallbacks_total(\{[^}]*\})? 1/);
    expect(mesh.stats().natsFallback).toEqual({ active: false, count: 1 });
  });
});

/** A TestService instance in this process (host for gRPC, NATS RPC server) and a mesh client on NATS. */
async function inProcess(server: PrivateServer, clientOptions: Partial<ConnectionOptions> = {}) {
  const aborts: string[] = [];
  const registration = testServiceRegistration({ servedBy: "inproc", onAbort: (method) => aborts.push(method) });
  const host = await startHost([registration]);
  const options = { servers: server.url, noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 };
  const ncServer = await connect(options);
  const ncClient = await connect({ ...options, ...clientOptions });
  const subject = `weft.t${randomUUID().slice(0, 8)}.rpc.inproc`;
  const rpc = createNatsRpcServer({ nc: ncServer, subject, services: [{ service: registration.service, impl: registration.impl as never }] });
  await ncServer.flush(); // the subscription is on the server before the first call
  const endpoint = { instanceId: "inproc", services: [SERVICE], address: `127.0.0.1:${host.port}`, natsSubject: subject, version: "", ready: true, load: NO_LOAD };
  const source: EndpointSource = { endpoints: () => [endpoint], subscribe: () => () => {}, ready: async () => {}, close: async () => {} };
  const mesh = createMeshClient({ discovery: source, nc: ncClient, defaultTransport: "nats" });
  return {
    aborts,
    rpc,
    client: mesh.client(TestService),
    fallbackAttempts: () => mesh.stats().fallbackAttempts,
    fallbackActive: () => mesh.stats().natsFallback?.active === true,
    async close() {
      mesh.close();
      rpc.close();
      await host.close();
      await ncClient.close().catch(() => undefined);
      await ncServer.close().catch(() => undefined);
      await server.dispose();
    },
  };
}

describe("NATS fallback, streams and a hung server", () => {
  it("fails a stream in flight at the loss with UNAVAILABLE and stops its handler; new streams go over gRPC, then NATS again", async () => {
    const server = await privateNats();
    const p = await inProcess(server);
    try {
      const { client, fallbackAttempts, aborts, rpc } = p;
      const bidi = async () => {
        const got: number[] = [];
        for await (const r of client.fullDuplexCall((async function* () {
          for (const size of [1, 2, 3]) yield { responseParameters: [{ size }] };
        })())) got.push(r.payload!.body.length);
        return got;
      };
      const sum = async () => (await client.streamingInputCall((async function* () {
        for (const size of [5, 6]) yield { payload: { body: new Uint8Array(size) } };
      })())).aggregatedPayloadSize;
      expect(await bidi()).toEqual([1, 2, 3]);
      expect(fallbackAttempts()).toBe(0);

      // A bidi stream open over NATS when it goes.
      let release: (() => void) | undefined;
      const open = client.fullDuplexCall((async function* () {
        yield { responseParameters: [{ size: 7 }] };
        await new Promise<void>((r) => (release = r));
      })())[Symbol.asyncIterator]();
      expect((await open.next()).value?.payload?.body.length).toBe(7);
      await server.stop();
      const err = await open.next().then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(err?.code).toBe(Code.Unavailable);
      await until(() => aborts.includes("FullDuplexCall"), 10_000, "the handler stopped");
      expect(rpc.inFlight).toBe(0);

      // During the outage: over gRPC.
      expect(p.fallbackActive()).toBe(true);
      expect(await bidi()).toEqual([1, 2, 3]);
      expect(await sum()).toBe(11);
      const during = fallbackAttempts();
      expect(during).toBe(2);

      // Back on NATS.
      await server.start();
      await until(() => !p.fallbackActive(), 20_000, "back on NATS");
      expect(await bidi()).toEqual([1, 2, 3]);
      expect(await sum()).toBe(11);
      expect(fallbackAttempts()).toBe(during);
      release?.();
    } finally {
      await p.close();
    }
  });

  it("falls back when nats-server hangs (no socket closes: found by pings) without failing idempotent calls", async () => {
    const server = await privateNats();
    // Pings every 500 ms, stale after 2 unanswered: the bound on finding a silent server.
    const p = await inProcess(server, { pingInterval: 500, maxPingOut: 2 });
    try {
      const { client, fallbackAttempts } = p;
      let phase: "up" | "hung" | "back" = "up";
      let done = 0;
      const outage = (async () => {
        await until(() => done >= 100, 30_000, "100 calls over NATS first");
        expect(fallbackAttempts()).toBe(0);
        server.pause();
        await until(p.fallbackActive, 20_000, "fallback on a hung server");
        phase = "hung";
        const at = fallbackAttempts();
        await until(() => fallbackAttempts() >= at + 200, 30_000, "200 calls over the fallback");
        server.resume();
        await until(() => !p.fallbackActive(), 30_000, "back on NATS");
        phase = "back";
      })();
      const load = await runLoad(100_000, 4, async () => (await client.cacheableUnaryCall({})).servedBy, { maxMs: 90_000, until: () => phase === "back", onProgress: (n) => (done = n) });
      await outage;
      console.log(`nats fallback (hung server): ${load.ok} ok, ${load.failed} failed; ${fallbackAttempts()} attempts over gRPC; ${load.messages.join(" | ")}`);
      expect(load.failed).toBe(0);
      expect(fallbackAttempts()).toBeGreaterThanOrEqual(200);
    } finally {
      server.resume();
      await p.close();
    }
  });
});
