// Connect over NATS on a 3-node NATS cluster (scripts/cluster): the node a service instance is
// connected to is killed (SIGKILL) during 5,000 idempotent calls. The instance reconnects to another
// node and serves again; calls whose request or reply died with the node are retried; none fails.

import { randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery, type EndpointSource, type NatsDiscovery } from "../../mesh/discovery/index.ts";
import { connectNats } from "../../mesh/node/index.ts";
import { startNatsCluster, type NatsCluster, type NatsClusterNode } from "../../scripts/cluster/nats-cluster.ts";
import { runLoad } from "./fixtures/load.ts";
import { startInstance, stop, until, type TestInstance } from "./fixtures/processes.ts";

const CALLS = 5_000;
const KILL_AT = 1_500;

let cluster: NatsCluster;
const instances: TestInstance[] = [];
const callers: { nc: NatsConnection; discovery: NatsDiscovery; mesh: MeshClient }[] = [];

beforeAll(async () => {
  cluster = await startNatsCluster({ dir: await mkdtemp(join(tmpdir(), "weft-nats-cluster-")) });
});

afterAll(async () => {
  for (const c of callers) {
    c.mesh.close();
    await c.discovery.close();
    await c.nc.close().catch(() => undefined);
  }
  await Promise.all(instances.map((i) => stop(i.proc)));
  await cluster?.stop();
});

/** A caller named `name` on `servers`, following TestService under `prefix`, once `count` instances are up. */
async function startCaller(name: string, servers: string, prefix: string, count: number) {
  const nc = await connectNats({ servers, name });
  const discovery = createNatsDiscovery({ nc, subjectPrefix: `${prefix}.registry` });
  const mesh = createMeshClient({ discovery, nc, defaultTransport: "nats" });
  callers.push({ nc, discovery, mesh });
  await discovery.ready();
  await until(() => discovery.endpoints(TestService.typeName).length === count, 15_000, `${count} instances up`);
  return { nc, discovery, mesh };
}

/** Test-server settings under a prefix of the test's own. */
function meshEnv(prefix: string): Record<string, string> {
  return { MESH_REGISTRY_PREFIX: `${prefix}.registry`, MESH_RPC_PREFIX: `${prefix}.rpc`, MESH_HEARTBEAT_MS: "250", SLOW_MS: "2" };
}

/** The node whose /connz lists a connection named `name`. */
async function nodeOf(name: string): Promise<NatsClusterNode | undefined> {
  for (const node of cluster.servers) {
    if (node.pid === undefined) continue;
    const connz = (await (await fetch(`${node.monitorUrl}/connz`)).json()) as { connections?: { name?: string }[] };
    if (connz.connections?.some((c) => c.name === name)) return node;
  }
  return undefined;
}

describe("Connect over NATS on a 3-node NATS cluster", () => {
  it("fails no idempotent call when the node a service instance is connected to is killed", async () => {
    await Promise.all(cluster.servers.map((node) => node.start())); // whichever test ran first
    const prefix = `weft.t${randomUUID().slice(0, 8)}`;
    // c1 gets every node's URL (NATS_URL), as the launcher's --cluster gives them; the node it picked is
    // the one killed. c2 and the caller sit on the other nodes, so only c1 loses its node.
    instances.push(await startInstance("c1", { ...meshEnv(prefix), NATS_URL: cluster.url }));
    const victim = await nodeOf("c1");
    expect(victim, "c1's NATS node").toBeDefined();
    const others = cluster.servers.filter((s) => s !== victim).map((s) => s.url).join(",");
    instances.push(await startInstance("c2", { ...meshEnv(prefix), NATS_URL: others }));
    const { nc, discovery, mesh } = await startCaller("caller-1", others, prefix, 2);
    const client = mesh.client(TestService);

    let killedAt = 0;
    let longestMs = 0;
    const result = await runLoad(CALLS, 8, async (i) => {
      if (i === KILL_AT && killedAt === 0) {
        killedAt = performance.now();
        void victim!.kill("SIGKILL");
      }
      const started = performance.now();
      const who = (await client.cacheableUnaryCall({})).servedBy;
      longestMs = Math.max(longestMs, performance.now() - started);
      return who;
    }, { maxMs: 35_000 });
    const c1Node = await nodeOf("c1");
    const s = mesh.stats();
    console.log(
      `NATS node ${victim!.name} (c1's) killed at call ${KILL_AT}: ${result.ok} ok, ${result.failed} failed ${JSON.stringify(result.messages)}, ${s.retries} retries, ` +
      `longest call ${Math.round(longestMs)} ms, served ${JSON.stringify(Object.fromEntries(result.servedBy))}; c1 now on ${c1Node?.name}; ${result.elapsedMs} ms`,
    );
    expect(result.failed).toBe(0);
    // The instance survived its node: it reconnected elsewhere and serves again over NATS.
    expect(c1Node).toBeDefined();
    expect(c1Node).not.toBe(victim);
    // Its new record counts the reconnect (what made the caller stop waiting for the lost calls), and
    // it answers over NATS on its new node. (The balancer itself prefers c2 for a while: c1's failed
    // attempts raised its latency estimate.)
    const c1 = discovery.endpoints(TestService.typeName).find((e) => e.instanceId === "c1");
    expect(c1?.natsConnection).toBe(2);
    const only: EndpointSource = { endpoints: () => [c1!], subscribe: () => () => {}, ready: async () => {}, close: async () => {} };
    const direct = createMeshClient({ discovery: only, nc, defaultTransport: "nats", retry: false });
    try {
      expect((await direct.client(TestService).cacheableUnaryCall({})).servedBy).toBe("c1");
    } finally {
      direct.close();
    }
  });

  it("fails no idempotent call when the caller's own NATS node is killed (the mesh client falls back to gRPC, then returns)", async () => {
    await Promise.all(cluster.servers.map((node) => node.start())); // whichever test ran first
    const prefix = `weft.t${randomUUID().slice(0, 8)}`;
    instances.push(await startInstance("d1", { ...meshEnv(prefix), NATS_URL: cluster.url }));
    const { mesh } = await startCaller("caller-2", cluster.url, prefix, 1);
    const callerNode = await nodeOf("caller-2");
    expect(callerNode, "the caller's NATS node").toBeDefined();
    const client = mesh.client(TestService);
    let killed = false;
    const result = await runLoad(3_000, 8, async (i) => {
      if (i === 1_000 && !killed) {
        killed = true;
        void callerNode!.kill("SIGKILL");
      }
      return (await client.cacheableUnaryCall({})).servedBy;
    }, { maxMs: 30_000 });
    const s = mesh.stats();
    console.log(`caller's NATS node ${callerNode!.name} killed at call 1000: ${result.ok} ok, ${result.failed} failed ${JSON.stringify(result.messages)}, ${s.retries} retries, ${s.fallbackAttempts} attempts over the gRPC fallback; ${result.elapsedMs} ms`);
    expect(result.failed).toBe(0);
    const now = await nodeOf("caller-2");
    expect(now, "the caller reconnected").toBeDefined();
    expect(now).not.toBe(callerNode);
  });
});
