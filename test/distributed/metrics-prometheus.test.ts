// A real Prometheus (Debian's package) scrapes `/metrics` of two mesh/node processes every second; after
// exactly N calls through the mesh client, Prometheus's query API must show exactly N in the server
// request counter and in the latency histogram's _count, summed over both instances, each having served.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient, type MeshClient } from "../../mesh/client/index.ts";
import { createNatsDiscovery, type NatsDiscovery } from "../../mesh/discovery/index.ts";
import { freePort } from "../support/free-port.ts";
import { startInstance, stop, type TestInstance } from "./fixtures/processes.ts";

const PROMETHEUS = process.env.PROMETHEUS_PATH ?? "/usr/bin/prometheus";
const CALLS = 57;
const run = randomUUID().slice(0, 8);
const registryPrefix = `weft.tprom${run}.registry`;
const instances: TestInstance[] = [];
let prometheus: ChildProcess | undefined;
let promUrl = "";
let dataDir = "";
let nc: NatsConnection | undefined;
let discovery: NatsDiscovery | undefined;
let mesh: MeshClient | undefined;

async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== "success") throw new Error(`query ${promql} failed: ${JSON.stringify(body)}`);
  return body.data.result;
}

/** Polls `promql` (a single-valued sum) until it equals `want` or 30 s pass; returns the last value. */
async function pollValue(promql: string, want: number): Promise<number | undefined> {
  let last: number | undefined;
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const result = await query(promql);
    last = result.length === 0 ? undefined : Number(result[0].value[1]);
    if (last === want) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

beforeAll(async () => {
  if (!existsSync(PROMETHEUS)) throw new Error(`${PROMETHEUS} not found: run \`bash scripts/dev-services.sh\` (installs Debian's prometheus)`);
  const env = { MESH_REGISTRY_PREFIX: registryPrefix, MESH_RPC_PREFIX: `weft.tprom${run}.rpc`, MESH_HEARTBEAT_MS: "250" };
  // Start-up waits sized for a machine busy with other suites (a mesh process then takes seconds to start).
  instances.push(await startInstance(`prom-a-${run}`, env), await startInstance(`prom-b-${run}`, env));
  dataDir = mkdtempSync(join(tmpdir(), "weft-prometheus-"));
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  const config = join(dataDir, "prometheus.yml");
  writeFileSync(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 900ms",
      "scrape_configs:",
      "  - job_name: weft",
      "    static_configs:",
      `      - targets: [${instances.map((i) => `"127.0.0.1:${i.port}"`).join(", ")}]`,
      "",
    ].join("\n"),
  );
  prometheus = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(dataDir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  prometheus.stderr!.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const ready = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${promUrl}/-/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > ready || prometheus.exitCode !== null) throw new Error(`prometheus did not become ready:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
  discovery = createNatsDiscovery({ nc, subjectPrefix: registryPrefix });
  mesh = createMeshClient({ discovery, nc, balancer: { policy: "round-robin" } });
}, 180_000);

afterAll(async () => {
  mesh?.close();
  await discovery?.close();
  await nc?.close();
  if (prometheus !== undefined) await stop(prometheus);
  for (const i of instances) await stop(i.proc);
  if (dataDir !== "") rmSync(dataDir, { recursive: true, force: true });
});

describe("Prometheus scrapes /metrics of two mesh processes", () => {
  it(`counts exactly ${CALLS} calls of a method in the request counter and the histogram`, async () => {
    // Prometheus applies its target list a few seconds after start: wait until it scrapes both.
    expect(await pollValue('sum(up{job="weft"})', 2)).toBe(2);
    const client = mesh!.client(TestService);
    const servedBy = new Set<string>();
    for (let i = 0; i < CALLS; i++) servedBy.add((await client.unaryCall({ responseSize: 1 })).servedBy);
    expect(servedBy.size).toBe(2);

    const selector = '{job="weft",service="weft.testing.v1.TestService",method="UnaryCall",code="ok"}';
    expect(await pollValue(`sum(weft_rpc_server_requests_total${selector})`, CALLS)).toBe(CALLS);
    expect(await pollValue(`sum(weft_rpc_server_duration_seconds_count${selector})`, CALLS)).toBe(CALLS);
    // The +Inf bucket holds every observation; each instance reports its own share.
    expect(await pollValue(`sum(weft_rpc_server_duration_seconds_bucket{job="weft",method="UnaryCall",le="+Inf"})`, CALLS)).toBe(CALLS);
    const perInstance = await query(`weft_rpc_server_requests_total${selector}`);
    expect(perInstance).toHaveLength(2);
    for (const series of perInstance) expect(Number(series.value[1])).toBeGreaterThan(0);
    // Nothing else was called: no other method or code has a series.
    expect(await query('weft_rpc_server_requests_total{job="weft",method!="UnaryCall"}')).toEqual([]);
    // Process metrics ride along on the same scrape.
    expect((await query('nodejs_eventloop_lag_seconds{job="weft"}')).length).toBe(2);
  }, 120_000);
});
