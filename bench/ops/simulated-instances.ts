// Simulated mesh instances in one process, each answering the aggregator's gathering as a mesh node
// does (its own RED window, filled with calls every second, and an instance snapshot). Prints
// "READY" once subscribed, and on SIGTERM "CPU <user+system ms>" of this process.

import { create } from "@bufbuild/protobuf";
import { InstanceSnapshotSchema } from "../../gen/weft/mesh/v1/admin_pb.ts";
import { connectNats } from "../../mesh/node/index.ts";
import { startGatherResponder } from "../../mesh/ops/index.ts";
import { RedWindow } from "../../mesh/telemetry/index.ts";
import { readCommandLine } from "../../mesh/errors/index.ts";

const { positionals } = readCommandLine({
  usage: "node bench/ops/simulated-instances.ts [SETTINGS]   (started by npm run bench:ops)",
  summary: "Simulated mesh instances answering the aggregator's gathering; prints READY, and CPU <ms> on SIGTERM.",
  flags: {},
  positionals: [{ name: "SETTINGS", description: 'one JSON object, e.g. {"instances":10,"prefix":"weft.bench.registry","methods":10,"callers":3,"calls":20,"services":5,"meshCallers":false} (meshCallers: callers are other simulated services, so the topology has service->service edges)' }],
  env: [{ name: "NATS_URL", defaultText: "nats://127.0.0.1:4222", description: "the NATS server the aggregator uses" }],
});
const settings = JSON.parse(positionals[0] ?? "{}") as { instances?: number; prefix?: string; methods?: number; callers?: number; calls?: number; services?: number; meshCallers?: boolean };
const count = settings.instances ?? 10;
const prefix = settings.prefix ?? "weft.bench.registry";
const methods = settings.methods ?? 10;
const callers = settings.callers ?? 3;
const callsPerKeyPerSecond = settings.calls ?? 20;
const services = settings.services ?? 5;
const serviceOf = (i: number) => `bench.v1.Service${i % services}`;
const callerOf = (i: number, c: number) => (settings.meshCallers ? serviceOf(i + c + 1) : `bench.v1.Caller${c}`);
const nc = await connectNats({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222", name: "weft-bench-instances" });

const windows: RedWindow[] = [];
for (let i = 0; i < count; i++) {
  const window = new RedWindow();
  windows.push(window);
  const instanceId = `sim-${i}`;
  startGatherResponder({
    nc,
    registryPrefix: prefix,
    window,
    snapshot: () => create(InstanceSnapshotSchema, { instanceId, version: "bench", services: [{ name: serviceOf(i), serving: true }], ready: true, windowSeconds: 60, takenAtMs: BigInt(Date.now()) }),
  });
}
// Every key of every instance sees calls every second (latencies spread over the buckets).
const fill = () => {
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < count; i++) {
    for (let m = 0; m < methods; m++) {
      for (let c = 0; c < callers; c++) {
        const key = windows[i].key(serviceOf(i), `Method${m}`, callerOf(i, c))!;
        for (let n = 0; n < callsPerKeyPerSecond; n++) key.record(now, 0.2 + ((n * 7) % 50), n % 50 === 0);
      }
    }
  }
};
fill();
const timer = setInterval(fill, 1000);
await nc.flush();
const start = process.cpuUsage();
process.stdout.write("READY\n");
process.once("SIGTERM", async () => {
  clearInterval(timer);
  const used = process.cpuUsage(start);
  process.stdout.write(`CPU ${(used.user + used.system) / 1000}\n`);
  await nc.close();
  process.exit(0);
});
