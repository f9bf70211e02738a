// Discovery follows instances through start, drain and kill -9, a late client learns the table from
// the snapshot, and calls keep working while a (private) NATS server restarts.

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
  // Asserted by what discovery reports (the table, and why an endpoint went down), not by how many ms it
  // took: a busy machine delays every step, but cannot turn an expiry into a leave or the reverse.
  it("a late client gets the table from the snapshot, not from a heartbeat", async () => {
    // Heartbeats a minute apart: after the one at start, only the snapshot can tell a new client.
    const prefix = `weft.t${randomUUID().slice(0, 8)}.registry`;
    const env = { MESH_REGISTRY_PREFIX: prefix, MESH_HEARTBEAT_MS: "60000" };
    const nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
    connections.push(nc);
    const started = await Promise.all([startInstance("s1", env), startInstance("s2", env)]);
    instances.push(...started);
    const late = createNatsDiscovery({ nc, subjectPrefix: prefix, snapshotTimeoutMs: 10_000 });
    await late.ready();
    expect(late.endpoints(SERVICE).map((e) => e.instanceId).sort()).toEqual(["s1", "s2"]);
    await late.close();
  });

  it("follows start, drain (a leave, with the default grace) and kill -9 (expiry)", async () => {
    const prefix = `weft.t${randomUUID().slice(0, 8)}.registry`;
    const env = { MESH_REGISTRY_PREFIX: prefix, MESH_HEARTBEAT_MS: "250" };
    const nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
    connections.push(nc);
    const d = createNatsDiscovery({ nc, subjectPrefix: prefix });
    await d.ready();
    const downs: [string, string][] = [];
    d.subscribe((event) => {
      if (event.type === "down") downs.push([event.endpoint.instanceId, event.reason]);
    });
    const ids = () => d.endpoints(SERVICE).map((e) => e.instanceId).sort();

    const a = await startInstance("a", env);
    const b = await startInstance("b", env);
    instances.push(a, b);
    await until(() => ids().join() === "a,b", 10_000, "both up");

    // Drain: the leave removes it (reason "leave"), and the process drains and exits 0.
    a.proc.kill("SIGTERM");
    await until(() => ids().join() === "b", 10_000, "a left");
    expect(await a.exited).toBe(0);
    expect(a.lines).toContain("DRAINED");

    // kill -9: no leave; dropped once its heartbeats stop (reason "expired").
    b.proc.kill("SIGKILL");
    const killedAt = Date.now();
    await until(() => ids().length === 0, 15_000, "b expired");
    console.log(`discovery: kill -9 dropped after ${Date.now() - killedAt} ms (expiry 3 x 250 ms + sweep 250 ms)`);
    expect(downs).toEqual([["a", "leave"], ["b", "expired"]]);
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
    await until(() => discovery.endpoints(SERVICE).length === 2, 10_000, "both up");
    const mesh = createMeshClient({ discovery });
    const client = mesh.client(TestService);

    let restarted = false;
    const restart = (async () => {
      await new Promise((r) => setTimeout(r, 300));
      await nats!.stop();
      await until(() => !discovery.connected, 10_000, "disconnect seen");
      // Away for longer than the expiry bound: the table must not be emptied.
      await new Promise((r) => setTimeout(r, 1200));
      expect(discovery.endpoints(SERVICE).length).toBe(2);
      await nats!.start();
      await until(() => discovery.connected, 15_000, "reconnected");
      restarted = true;
    })();
    const result = await runLoad(4000, 4, async (i) => {
      // Keep the load going until NATS is back (bounded by count and time).
      if (i === 3999 && !restarted) await restart;
      const res = await client.cacheableUnaryCall({});
      return res.servedBy;
    }, { maxMs: 60_000 });
    await restart;
    expect(result.failed).toBe(0);
    // After the restart, discovery follows changes again: a new instance appears.
    const f = await startInstance("f", env);
    instances.push(f);
    await until(() => discovery.endpoints(SERVICE).length === 3, 15_000, "f up after the restart");
    console.log(`NATS restart: ${result.ok} calls, ${result.failed} failed, served by ${JSON.stringify(Object.fromEntries(result.servedBy))}`);
    mesh.close();
    await discovery.close();
  });
});
