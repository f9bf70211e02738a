// Simulated mesh instances in one process, each announcing itself through discovery as a mesh node
// does (its own announcer, heartbeats spread over the interval). Instance i is "sim-<i>" and serves
// "bench.discovery.v1.Service<i mod services>". Prints "READY" once all have started, and on SIGTERM
// "CPU <user+system ms>" of this process.

import { connectNats } from "../../mesh/node/index.ts";
import { createAnnouncer, type Announcer } from "../../mesh/discovery/index.ts";
import { readCommandLine } from "../../mesh/errors/index.ts";
import { setTimeout as sleep } from "node:timers/promises";

const { positionals } = readCommandLine({
  usage: "node bench/discovery/simulated-instances.ts [SETTINGS]   (started by npm run bench:discovery)",
  summary: "Simulated instances announcing through discovery; prints READY, and CPU <ms> on SIGTERM.",
  flags: {},
  positionals: [{ name: "SETTINGS", description: 'one JSON object, e.g. {"from":0,"count":500,"services":50,"prefix":"weft.bench.registry","heartbeatMs":1000}' }],
  env: [{ name: "NATS_URL", defaultText: "nats://127.0.0.1:4222", description: "the NATS server to announce on" }],
});
const settings = JSON.parse(positionals[0] ?? "{}") as { from?: number; count?: number; services?: number; prefix?: string; heartbeatMs?: number };
const from = settings.from ?? 0;
const count = settings.count ?? 100;
const services = settings.services ?? 50;
const prefix = settings.prefix ?? "weft.bench.registry";
const heartbeatMs = settings.heartbeatMs ?? 1000;
const nc = await connectNats({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222", name: "weft-bench-discovery-instances" });

/** The service simulated instance `i` serves (shared with the clients through the same rule). */
function serviceOf(i: number): string {
  return `bench.discovery.v1.Service${i % services}`;
}

const announcers: Announcer[] = [];
// Started over one heartbeat interval, so heartbeats are spread as in a real mesh, not in one burst.
const batches = 20;
for (let b = 0; b < batches; b++) {
  const started: Promise<void>[] = [];
  for (let k = b; k < count; k += batches) {
    const i = from + k;
    const a = createAnnouncer({ nc, instanceId: `sim-${i}`, services: [serviceOf(i)], address: `127.0.0.1:${10_000 + (i % 50_000)}`, version: "bench", subjectPrefix: prefix, heartbeatIntervalMs: heartbeatMs });
    announcers.push(a);
    started.push(a.start());
  }
  await Promise.all(started);
  await sleep(heartbeatMs / batches);
}
console.log("READY");
process.once("SIGTERM", () => {
  const cpu = process.cpuUsage();
  console.log(`CPU ${(cpu.user + cpu.system) / 1000}`);
  void nc.close().finally(() => process.exit(0));
});
