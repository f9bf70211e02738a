// Hedging: with a latency tail on every instance (1 call in 20 takes 200 ms longer), hedged
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
  const env = { MESH_REGISTRY_PREFIX: prefix, SLOW_EVERY: "20", SLOW_EVERY_MS: "200" };
  instances.push(...(await Promise.all(["h1", "h2", "h3"].map((n) => startInstance(n, env)))));
  nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
  discovery = createNatsDiscovery({ nc, subjectPrefix: prefix });
  await discovery.ready();
  await until(() => discovery.endpoints(TestService.typeName).length === 3, 3000, "3 up");
});

afterAll(async () => {
  await discovery?.close();
  await nc?.close();
  await Promise.all(instances.map((i) => stop(i.proc)));
});

async function latencies(mesh: MeshClient, count: number, nonIdempotent = false): Promise<number[]> {
  const client = mesh.client(TestService);
  const out: number[] = [];
  const worker = async (w: number) => {
    for (let i = w; i < count; i += 4) {
      const t0 = performance.now();
      if (nonIdempotent) await client.unaryCall({});
      else await client.cacheableUnaryCall({});
      out.push(performance.now() - t0);
    }
  };
  await Promise.all([0, 1, 2, 3].map(worker));
  return out.sort((a, b) => a - b);
}

const p99 = (sorted: number[]) => sorted[Math.floor(sorted.length * 0.99)];

describe("hedging", () => {
  it("cuts the latency tail of NO_SIDE_EFFECTS calls, within the budget", async () => {
    const plain = createMeshClient({ discovery });
    const hedged = createMeshClient({ discovery, services: { [TestService.typeName]: { hedging: true } }, hedging: { percentile: 90, minSamples: 50 } });
    const [a, b] = [await latencies(plain, 1200), await latencies(hedged, 1200)];
    const s = hedged.stats();
    console.log(`hedging: p99 ${p99(a).toFixed(1)} ms without, ${p99(b).toFixed(1)} ms with; ${s.hedges} hedges for ${s.calls} calls`);
    // Judged by how many calls land in the 200 ms tail, not by an absolute p99: a busy machine stretches
    // every latency, but only hedging rescues the 1-in-20 slow calls (both attempts slow is ~1 in 400).
    const tail = (sorted: number[]) => sorted.filter((ms) => ms >= 190).length;
    console.log(`hedging: ${tail(a)} calls >= 190 ms without, ${tail(b)} with`);
    expect(tail(a)).toBeGreaterThan(1200 / 20 / 2);
    expect(tail(b)).toBeLessThan(tail(a) / 2);
    expect(s.hedges).toBeGreaterThan(0);
    expect(s.hedges + s.retries).toBeLessThanOrEqual(0.2 * s.calls + 100);
    expect(s.failures).toBe(0);
    plain.close();
    hedged.close();
  });

  it("never hedges a non-idempotent method", async () => {
    const hedged = createMeshClient({ discovery, services: { [TestService.typeName]: { hedging: true } }, hedging: { percentile: 50, minSamples: 1 } });
    await latencies(hedged, 300, true);
    expect(hedged.stats().hedges).toBe(0);
    hedged.close();
  });
});
