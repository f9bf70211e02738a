// Hedging: with a latency tail on every instance (1 call in 20 takes 1 s longer), hedged
// NO_SIDE_EFFECTS calls send a second attempt after the method's p90 and cut the tail; non-idempotent
// calls are never hedged; hedges stay inside the retry budget.

import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery, type NatsDiscovery } from "../../mesh/discovery/index.ts";
import { startInstance, stop, until, type TestInstance } from "./fixtures/processes.ts";
import { natsUrl } from "../support/servers.ts";

const instances: TestInstance[] = [];
let nc: NatsConnection;
let discovery: NatsDiscovery;

beforeAll(async () => {
  const prefix = `weft.t${randomUUID().slice(0, 8)}.registry`;
  const env = { MESH_REGISTRY_PREFIX: prefix, SLOW_EVERY: "20", SLOW_EVERY_MS: "1000" };
  instances.push(...(await Promise.all(["h1", "h2", "h3"].map((n) => startInstance(n, env)))));
  nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
  discovery = createNatsDiscovery({ nc, subjectPrefix: prefix });
  await discovery.ready();
  await until(() => discovery.endpoints(TestService.typeName).length === 3, 15_000, "3 up");
});

afterAll(async () => {
  await discovery?.close();
  await nc?.close();
  await Promise.all(instances.map((i) => stop(i.proc)));
});

/** Runs `count` calls, 4 at a time; returns how many answers came from an attempt that took the tail. */
async function tailAnswers(mesh: MeshClient, count: number, nonIdempotent = false): Promise<number> {
  const client = mesh.client(TestService);
  let tail = 0;
  const worker = async (w: number) => {
    for (let i = w; i < count; i += 4) {
      const res = nonIdempotent ? await client.unaryCall({}) : await client.cacheableUnaryCall({});
      if (new TextDecoder().decode(res.payload?.body) === "slow-tail") tail++;
    }
  };
  await Promise.all([0, 1, 2, 3].map(worker));
  return tail;
}

describe("hedging", () => {
  it("cuts the latency tail of NO_SIDE_EFFECTS calls, within the budget", async () => {
    const plain = createMeshClient({ discovery });
    const hedged = createMeshClient({ discovery, services: { [TestService.typeName]: { hedging: true } }, hedging: { percentile: 90, minSamples: 50 } });
    const [a, b] = [await tailAnswers(plain, 600), await tailAnswers(hedged, 600)];
    const s = hedged.stats();
    // Judged by which attempt answered, not by latency a busy machine stretches: without hedging every
    // tail attempt (1 in 20) is the answer; with it, the hedge sent after the p90 answers first.
    console.log(`hedging: ${a} answers from a 1 s tail attempt without, ${b} with; ${s.hedges} hedges for ${s.calls} calls`);
    expect(a).toBeGreaterThan(600 / 20 / 2);
    expect(b).toBeLessThan(a / 2);
    expect(s.hedges).toBeGreaterThan(0);
    expect(s.hedges + s.retries).toBeLessThanOrEqual(0.2 * s.calls + 100);
    expect(s.failures).toBe(0);
    plain.close();
    hedged.close();
  });

  it("never hedges a non-idempotent method", async () => {
    const hedged = createMeshClient({ discovery, services: { [TestService.typeName]: { hedging: true } }, hedging: { percentile: 50, minSamples: 1 } });
    await tailAnswers(hedged, 300, true);
    expect(hedged.stats().hedges).toBe(0);
    hedged.close();
  });
});
