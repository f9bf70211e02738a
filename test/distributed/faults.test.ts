// Faults under load: kill -9 during idempotent calls, an instance failing every call, and the rule
// that a non-idempotent call is never repeated once it may have reached a handler.

import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery, type NatsDiscovery } from "../../mesh/discovery/index.ts";
import { duplicateSideEffects, runLoad } from "./fixtures/load.ts";
import { startInstance, stop, until, type TestInstance } from "./fixtures/processes.ts";
import { natsUrl } from "../support/servers.ts";

const instances: TestInstance[] = [];
let nc: NatsConnection;
let discovery: NatsDiscovery | undefined;
let mesh: MeshClient | undefined;

beforeAll(async () => {
  nc = await connect({ servers: natsUrl(), noAsyncTraces: true });
});
afterEach(async () => {
  mesh?.close();
  await discovery?.close();
  await Promise.all(instances.splice(0).map((i) => stop(i.proc)));
});
afterAll(async () => {
  await nc?.close();
});

async function cluster(names: string[], extra: Record<string, Record<string, string>> = {}): Promise<{ prefix: string; byName: Map<string, TestInstance> }> {
  const prefix = `weft.t${randomUUID().slice(0, 8)}.registry`;
  const started = await Promise.all(names.map((n) => startInstance(n, { MESH_REGISTRY_PREFIX: prefix, MESH_HEARTBEAT_MS: "250", ...extra[n] })));
  instances.push(...started);
  discovery = createNatsDiscovery({ nc, subjectPrefix: prefix });
  await discovery.ready();
  await until(() => discovery!.endpoints(TestService.typeName).length === names.length, 15_000, "cluster up");
  return { prefix, byName: new Map(started.map((s) => [s.instanceId, s])) };
}

/** Retries and hedges the budget allows for `calls` over `elapsedMs`: 20% plus 10/s over a 10 s window. */
function budgetBound(calls: number, elapsedMs: number): number {
  return 0.2 * calls + 10 * 10 * Math.ceil(elapsedMs / 10_000);
}

describe("faults under load", () => {
  it("kill -9 of one of 3 instances during 5,000 idempotent calls: 0 failed, attempts within budget", async () => {
    const { byName } = await cluster(["k1", "k2", "k3"]);
    mesh = createMeshClient({ discovery: discovery! });
    const client = mesh.client(TestService);
    let killed = false;
    const result = await runLoad(5000, 8, async (i) => {
      if (i === 1500 && !killed) {
        killed = true;
        byName.get("k2")!.proc.kill("SIGKILL");
      }
      return (await client.cacheableUnaryCall({})).servedBy;
    }, { maxMs: 40_000 });
    const s = mesh.stats();
    console.log(`kill -9: ${result.ok} ok, ${result.failed} failed, ${s.attempts} attempts for ${s.calls} calls (${s.retries} retries), ` +
      `ejections ${JSON.stringify(s.ejections)}, served ${JSON.stringify(Object.fromEntries(result.servedBy))}, ${result.elapsedMs} ms`);
    expect(killed).toBe(true);
    expect(result.failed).toBe(0);
    expect(s.retries + s.hedges).toBeLessThanOrEqual(budgetBound(s.calls, result.elapsedMs));
    expect(s.attempts).toBe(s.calls + s.retries + s.hedges);
  });

  it("ejects an instance that fails every call with UNAVAILABLE: success >= 99.9%, no retry storm", async () => {
    await cluster(["g1", "g2", "bad"], { bad: { FAIL: "unavailable" } });
    // Round robin: P2C's latency penalty can starve the failing instance before it fails often enough
    // to be ejected, and this test is about the outlier detector.
    mesh = createMeshClient({ discovery: discovery!, balancer: { policy: "round-robin" }, outlierDetection: { baseEjectionMs: 1000 } });
    const client = mesh.client(TestService);
    const result = await runLoad(4000, 8, async () => (await client.cacheableUnaryCall({})).servedBy, { maxMs: 40_000 });
    const s = mesh.stats();
    const bad = s.endpoints.find((e) => e.instanceId === "bad");
    console.log(`failing instance: ${result.ok} ok, ${result.failed} failed, ${s.attempts} attempts for ${s.calls} calls, ` +
      `bad got ${bad?.attempts} attempts, ejections ${JSON.stringify(s.ejections.map((e) => [e.durationMs, e.ejections]))}, ${result.elapsedMs} ms`);
    expect(result.ok / 4000).toBeGreaterThanOrEqual(0.999);
    expect(s.ejections.some((e) => e.id === "bad")).toBe(true);
    expect(s.retries + s.hedges).toBeLessThanOrEqual(budgetBound(s.calls, result.elapsedMs));
    // Ejected, it sees only a small share of the traffic.
    expect(bad!.attempts).toBeLessThan(4000 * 0.05);
  });

  it("retries an IDEMPOTENT method after it reached a failing handler: 0 failed, each such call served elsewhere", async () => {
    const { byName } = await cluster(["i1", "i2", "ibad"], { ibad: { FAIL: "unavailable" } });
    mesh = createMeshClient({ discovery: discovery! });
    const client = mesh.client(TestService);
    const run = randomUUID().slice(0, 8);
    const result = await runLoad(600, 4, async (i) => {
      const res = await client.idempotentUnaryCall({ payload: { body: new TextEncoder().encode(`${run}-${i}`) } });
      return res.servedBy;
    }, { maxMs: 60_000 });
    const ran = (name: string) => byName.get(name)!.lines.filter((l) => l.startsWith("I ")).map((l) => l.slice(2));
    const reachedBad = ran("ibad");
    const servedWell = new Set([...ran("i1"), ...ran("i2")]);
    console.log(`IDEMPOTENT: ${result.ok} ok, ${result.failed} failed, ${reachedBad.length} reached the failing handler, ${mesh.stats().retries} retries`);
    expect(result.failed, JSON.stringify(result.messages)).toBe(0);
    // The failing handler ran (so these are retries after a handler, not refusals before one)...
    expect(reachedBad.length).toBeGreaterThan(0);
    // ...and each of those calls then succeeded on another instance.
    expect(reachedBad.filter((id) => !servedWell.has(id))).toEqual([]);
    expect(result.servedBy.has("ibad")).toBe(false);
  });

  it("never repeats a non-idempotent call that may have reached a handler (kill -9, failing instance)", async () => {
    const { byName } = await cluster(["n1", "n2", "n3", "nbad"], { nbad: { FAIL: "unavailable" } });
    mesh = createMeshClient({ discovery: discovery! });
    const client = mesh.client(TestService);
    const run = randomUUID().slice(0, 8);
    const result = await runLoad(3000, 8, async (i) => {
      if (i === 1000) byName.get("n2")!.proc.kill("SIGKILL");
      const res = await client.unaryCall({ payload: { body: new TextEncoder().encode(`${run}-${i}`) } });
      return res.servedBy;
    }, { maxMs: 40_000 });
    const s = mesh.stats();
    const dups = duplicateSideEffects([...byName.values()].map((i) => i.lines));
    const handled = [...byName.values()].reduce((n, i) => n + i.lines.filter((l) => l.startsWith("H ")).length, 0);
    console.log(`non-idempotent: ${result.ok} ok, ${result.failed} failed (${JSON.stringify(Object.fromEntries(result.codes))}), ` +
      `${s.retries} retries, ${handled} handler runs, ${dups.length} duplicates`);
    expect(dups).toEqual([]);
    // Every failure is one that may have reached a handler (the failing instance's answer, or a call
    // in flight on the killed one), reported as UNAVAILABLE, never a flattened INTERNAL.
    for (const code of result.codes.keys()) expect([Code.Unavailable, Code.Aborted]).toContain(code);
    expect(result.failed).toBeLessThan(60);
    expect(result.ok).toBeGreaterThan(2900);
  });
});
