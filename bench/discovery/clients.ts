// Simulated mesh clients in one process: each is a discovery table of its own that declares interest in
// its services, as a mesh client does before its first calls. Prints "READY" once every table is known;
// reads commands on stdin: "MEASURE" starts a CPU window, "REPORT" prints one JSON line with the CPU
// used since, memory and the instances each client holds. Instances whose id starts with "probe-"
// print "SEEN <client> <id> <unix ms>" and "DROPPED <client> <id> <unix ms>" from the clients that
// call their service.

import { createInterface } from "node:readline";
import { connectNats } from "../../mesh/node/index.ts";
import { createNatsDiscovery, type NatsDiscovery } from "../../mesh/discovery/index.ts";
import { readCommandLine } from "../../mesh/errors/index.ts";

const { positionals } = readCommandLine({
  usage: "node bench/discovery/clients.ts [SETTINGS]   (started by npm run bench:discovery)",
  summary: "Simulated mesh clients following the services they call; prints READY, then reports on stdin commands.",
  flags: {},
  positionals: [{ name: "SETTINGS", description: 'one JSON object, e.g. {"clients":[{"id":0,"services":["bench.discovery.v1.Service0"]}],"prefix":"weft.bench.registry"}' }],
  env: [{ name: "NATS_URL", defaultText: "nats://127.0.0.1:4222", description: "the NATS server to follow discovery on" }],
});
const settings = JSON.parse(positionals[0] ?? "{}") as { clients: { id: number; services: string[] }[]; prefix: string };
const nc = await connectNats({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222", name: "weft-bench-discovery-clients" });

const tables: { id: number; services: string[]; discovery: NatsDiscovery }[] = [];
for (const c of settings.clients) {
  const discovery = createNatsDiscovery({ nc, subjectPrefix: settings.prefix, services: [] });
  discovery.subscribe((event) => {
    const e = event.endpoint;
    if (!e.instanceId.startsWith("probe-") || !e.services.some((s) => c.services.includes(s))) return;
    if (event.type === "up") console.log(`SEEN ${c.id} ${e.instanceId} ${Date.now()}`);
    else if (event.type === "down") console.log(`DROPPED ${c.id} ${e.instanceId} ${Date.now()}`);
  });
  tables.push({ id: c.id, services: c.services, discovery });
}
// As a mesh client does: the first table, then the services it calls (when their clients are made).
await Promise.all(tables.map((t) => t.discovery.ready()));
await Promise.all(tables.flatMap((t) => t.services.map((s) => t.discovery.interest?.(s))));
console.log("READY");

let cpu0 = process.cpuUsage();
let t0 = performance.now();
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line === "MEASURE") {
    cpu0 = process.cpuUsage();
    t0 = performance.now();
  } else if (line === "REPORT") {
    const used = process.cpuUsage(cpu0);
    const memory = process.memoryUsage();
    const held = tables.map((t) => t.services.reduce((n, s) => n + t.discovery.endpoints(s).length, 0));
    console.log(`REPORT ${JSON.stringify({ cpuMs: (used.user + used.system) / 1000, elapsedMs: performance.now() - t0, heapMb: memory.heapUsed / 1e6, rssMb: memory.rss / 1e6, held })}`);
  }
});
process.once("SIGTERM", () => {
  void Promise.all(tables.map((t) => t.discovery.close())).then(() => nc.close()).finally(() => process.exit(0));
});
