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
let nc: NatsConnection | undefined;
let discovery: NatsDiscovery | undefined;
let mesh: MeshClient | undefined;

beforeAll(async () => {
  cluster = await startNatsCluster({ dir: await mkdtemp(join(tmpdir(), "weft-nats-cluster-")) });
});

afterAll(async () => {
  mesh?.close();
  await discovery?.close();
  await nc?.close().catch(() => undefined);
  await Promise.all(instances.map((i) => stop(i.proc)));
  await cluster?.stop();
});

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
    const prefix = `weft.t${randomUUID().slice(0, 8)}`;
    // c1 gets every node's URL (NATS_URL), as the launcher's --cluster gives them; the node it picked is
    // the one killed. c2 and the caller sit on the other nodes, so only c1 loses its node (a caller
    // losing its own falls back to gRPC: nats-fallback.test.ts).
    const env = { MESH_REGISTRY_PREFIX: `${prefix}.registry`, MESH_RPC_PREFIX: `${prefix}.rpc`, MESH_HEARTBEAT_MS: "250", SLOW_MS: "2" };
    instances.push(await startInstance("c1", { ...env, NATS_URL: cluster.url }));
    const victim = await nodeOf("c1");
    expect(victim, "c1's NATS node").toBeDefined();
    const others = cluster.servers.filter((s) => s !== victim).map((s) => s.url).join(",");
    instances.push(await startInstance("c2", { ...env, NATS_URL: others }));
    nc = await connectNats({ servers: others, name: "caller" });
    discovery = createNatsDiscovery({ nc, subjectPrefix: `${prefix}.registry` });
    await discovery.ready();
    await until(() => discovery!.endpoints(TestService.typeName).length === 2, 15_000, "2 instances up");
    mesh = createMeshClient({ discovery, nc, defaultTransport: "nats" });
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
});
