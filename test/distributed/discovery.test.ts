// Discovery follows instances through start, drain and kill -9 within its documented bounds, and calls
// keep working while a (private) NATS server restarts.

import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery } from "../../mesh/discovery/index.ts";
import { runLoad } from "./fixtures/load.ts";
import { privateNats, type PrivateServer } from "../support/private-servers.ts";
import { startInstance, stop, until, type TestInstance } from "./fixtures/processes.ts";
import { natsUrl } from "../support/servers.ts";

const SERVICE = TestService.typeName;
const instances: TestInstance[] = [];
const connections: NatsConnection[] = [];
let nats: PrivateServer | undefined;

afterAll(async () => {
  await Promise.all(instances.map((i) => stop(i.proc)));
  await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
  await nats?.dispose();
});

describe("discovery with real processes", () => {
  it("follows start, drain (leave) and kill -9 (expiry) within bounds", async () => {
    const prefix = `weft.t${randomUUID().slice(0, 8)}.registry`;
    const env = { MESH_REGISTRY_PREFIX: prefix, MESH_HEARTBEAT_MS: "250" };
    const nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
    connections.push(nc);
    const d = createNatsDiscovery({ nc, subjectPrefix: prefix });
    await d.ready();
    const ids = () => d.endpoints(SERVICE).map((e) => e.instanceId).sort();

    const a = await startInstance("a", env);
    const b = await startInstance("b", env);
    instances.push(a, b);
    // Announced on start: visible almost at once after READY.
    expect(await until(() => ids().length === 2, 1000, "both up")).toBeLessThan(500);

    // A client starting now gets the table from the snapshot, without waiting for a heartbeat.
    const late = createNatsDiscovery({ nc, subjectPrefix: prefix, snapshotTimeoutMs: 300 });
    const t0 = Date.now();
    await late.ready();
    expect(late.endpoints(SERVICE).length).toBe(2);
    expect(Date.now() - t0).toBeLessThan(250);
    await late.close();

    // Drain: the leave removes it before the process has even exited.
    const drainStart = Date.now();
    a.proc.kill("SIGTERM");
    await until(() => ids().join() === "b", 1000, "a left");
    const leftAfter = Date.now() - drainStart;
    expect(leftAfter).toBeLessThan(300);
    expect(await a.exited).toBe(0);

    // kill -9: no leave; dropped after expiry (3 x 250 ms) + sweep (250 ms).
    b.proc.kill("SIGKILL");
    const killedAt = Date.now();
    await until(() => ids().length === 0, 3000, "b expired");
    const expiredAfter = Date.now() - killedAt;
    expect(expiredAfter).toBeGreaterThanOrEqual(400);
    expect(expiredAfter).toBeLessThan(1250);
    console.log(`discovery: leave seen after ${leftAfter} ms; kill -9 dropped after ${expiredAfter} ms (bound 1000 ms)`);
    await d.close();
  });

  it("keeps calls working while NATS restarts, and keeps the table while it is away", async () => {
    nats = await privateNats();
    const prefix = `weft.t${randomUUID().slice(0, 8)}.registry`;
    const env = { MESH_REGISTRY_PREFIX: prefix, NATS_URL: nats.url, MESH_HEARTBEAT_MS: "250" };
    const c = await startInstance("c", env);
    const e = await startInstance("e", env);
    instances.push(c, e);
    const nc = await connect({ servers: nats.url, noAsyncTraces: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    connections.push(nc);
    const discovery = createNatsDiscovery({ nc, subjectPrefix: prefix });
    await discovery.ready();
    await until(() => discovery.endpoints(SERVICE).length === 2, 2000, "both up");
    const mesh = createMeshClient({ discovery });
    const client = mesh.client(TestService);

    let restarted = false;
    const restart = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      await nats!.stop();
      await until(() => !discovery.connected, 2000, "disconnect seen");
      // Away for longer than the expiry bound: the table must not be emptied.
      await new Promise((r) => setTimeout(r, 1200));
      expect(discovery.endpoints(SERVICE).length).toBe(2);
      await nats!.start();
      await until(() => discovery.connected, 5000, "reconnected");
      restarted = true;
    })();
    const result = await runLoad(4000, 4, async (i) => {
      // Keep the load going until NATS is back (bounded by count and time).
      if (i === 3999 && !restarted) await restart;
      const res = await client.cacheableUnaryCall({});
      return res.servedBy;
    }, { maxMs: 20_000 });
    await restart;
    expect(result.failed).toBe(0);
    // After the restart, discovery follows changes again: a new instance appears.
    const f = await startInstance("f", env);
    instances.push(f);
    await until(() => discovery.endpoints(SERVICE).length === 3, 3000, "f up after the restart");
    console.log(`NATS restart: ${result.ok} calls, ${result.failed} failed, served by ${JSON.stringify(Object.fromEntries(result.servedBy))}`);
    mesh.close();
    await discovery.close();
  });
});
