// The way out when NATS is unreachable: a mesh client on the nats transport, under bounded load of an
// idempotent method, sees its (private) nats-server killed: calls go over gRPC (HTTP/2) to the same
// instances at their announced addresses, none fails, non-idempotent calls in flight at the moment of
// loss fail with UNAVAILABLE, discovery keeps its table, and calls return to NATS once it is back.

import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery, type NatsDiscovery } from "../../mesh/discovery/index.ts";
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
