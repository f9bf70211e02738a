// Load balancing across real processes: calls spread over equal instances, and move away from one
// slowed by 50 ms.

import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery, type NatsDiscovery } from "../../mesh/discovery/index.ts";
import { runLoad } from "./fixtures/load.ts";
import { startInstance, stop, until, type TestInstance } from "./fixtures/processes.ts";
import { natsUrl } from "../support/servers.ts";

const prefix = `weft.t${randomUUID().slice(0, 8)}.registry`;
const instances: TestInstance[] = [];
let nc: NatsConnection;
let discovery: NatsDiscovery;

beforeAll(async () => {
  const env = { MESH_REGISTRY_PREFIX: prefix };
  instances.push(...(await Promise.all([
    startInstance("fast-1", env),
    startInstance("fast-2", env),
    startInstance("slow", { ...env, SLOW_MS: "50" }),
  ])));
  nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
  discovery = createNatsDiscovery({ nc, subjectPrefix: prefix });
  await discovery.ready();
  await until(() => discovery.endpoints(TestService.typeName).length === 3, 15_000, "3 instances");
});

afterAll(async () => {
  await Promise.all(instances.map((i) => stop(i.proc)));
  await discovery?.close();
  await nc?.close();
});

describe("load balancing", () => {
  it("sends at least 80% of calls to the fast instances when one is 50 ms slower", async () => {
    const mesh = createMeshClient({ discovery });
    const client = mesh.client(TestService);
    const result = await runLoad(1500, 8, async () => (await client.cacheableUnaryCall({})).servedBy, { maxMs: 30_000 });
    expect(result.failed).toBe(0);
    const slow = result.servedBy.get("slow") ?? 0;
    const share = 1 - slow / result.ok;
    console.log(`slow instance: ${slow}/${result.ok} calls; fast share ${(share * 100).toFixed(1)}% in ${result.elapsedMs} ms`);
    expect(share).toBeGreaterThanOrEqual(0.8);
    mesh.close();
  });

  it("spreads calls across equal instances", async () => {
    const mesh = createMeshClient({ discovery });
    const client = mesh.client(TestService);
    const result = await runLoad(3000, 8, async () => (await client.cacheableUnaryCall({})).servedBy, { maxMs: 30_000 });
    expect(result.failed).toBe(0);
    const a = result.servedBy.get("fast-1") ?? 0;
    const b = result.servedBy.get("fast-2") ?? 0;
    console.log(`equal instances: fast-1 ${a}, fast-2 ${b}, slow ${result.servedBy.get("slow") ?? 0}`);
    // Neither fast instance gets less than a quarter of what the two get together.
    expect(Math.min(a, b)).toBeGreaterThan((a + b) / 4);
    mesh.close();
  });
});
