// The mesh aggregator's CPU cost: N simulated instances (a child process) answer its gathering every
// second; this process aggregates and its CPU time per second is measured, beside an idle baseline.
// Two requests are measured: the CLI's (60 s, no series) and the dashboard's (300 s with series).
// Before measuring, the aggregator's CPU per second is read in one-second windows until it stops falling
// (bench/lib/steady-state.ts); both cores' speed is probed around each measured window and a point
// measured in a slow spell is marked.
// Usage: node bench/ops/aggregator.ts [--instances 10,50] [--seconds 10] [--warmup 2] [--max-warmup 15]
// Needs NATS (NATS_URL, default nats://127.0.0.1:4222). Prints a table and, with --json, JSON.

import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { numberSetting, readCommandLine } from "../../mesh/errors/index.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { connectNats } from "../../mesh/node/index.ts";
import { createMeshAggregator } from "../../mesh/ops/index.ts";
import { betweenProbes, type RunProbes } from "../lib/core-probe.ts";
import { slowRunFilter } from "../lib/results.ts";
import { describeWarmUp, stoppedFalling, warmUntil } from "../lib/steady-state.ts";
import { warmUpBounds, warmUpFlags } from "../lib/warm-up-flags.ts";

// At a fixed demand (a snapshot a second) the cost settles: at least 2 s, then until the CPU per second stops falling, at most 15 s.
const WARM_UP = { minS: 2, maxS: 15, until: "the aggregator's CPU per second stops falling" };

const { values } = readCommandLine({
  usage: "npm run bench:ops -- [flags]   (node bench/ops/aggregator.ts)",
  summary: "The mesh aggregator's CPU cost: simulated instances answer its gathering every second.",
  flags: {
    instances: { type: "string", valueName: "N,N", default: "10,50", description: "simulated instance counts, one measurement each" },
    seconds: { type: "string", valueName: "S", default: "10", description: "measured seconds per count" },
    json: { type: "boolean", default: false, description: "print the rows as JSON" },
    ...warmUpFlags(WARM_UP),
  },
  env: [{ name: "NATS_URL", defaultText: "nats://127.0.0.1:4222", description: "the NATS server to gather through" }],
});
const counts = values.instances.split(",").map((n) => numberSetting("--instances", n, 10, { min: 1, integer: true }));
const seconds = numberSetting("--seconds", values.seconds, 10, { min: 1 });
const warmUp = warmUpBounds(values, WARM_UP, false);
const natsUrl = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const child = new URL("./simulated-instances.ts", import.meta.url).pathname;

/** What is asked each second: `weft stat`'s snapshot, or the dashboard's WatchMesh (5 minutes, series). */
const REQUESTS = {
  cli: { windowSeconds: 60, series: false },
  dashboard: { windowSeconds: 300, series: true },
} as const;

interface Row {
  request: keyof typeof REQUESTS;
  instances: number;
  keysPerInstance: number;
  aggregatorCpuMsPerS: number;
  aggregatorCpuMsPerSPerInstance: number;
  responderCpuMsPerSPerInstance: number;
  heapUsedMb: number;
  methodsInSnapshot: number;
  warmUp: string;
  probe?: RunProbes;
  slowCore?: boolean;
}

async function measure(instances: number, kind: keyof typeof REQUESTS): Promise<Row> {
  const request = REQUESTS[kind];
  const prefix = `weft.bench${randomUUID().slice(0, 8)}.registry`;
  const sim = spawn(process.execPath, [child, JSON.stringify({ instances, prefix })], { env: { ...process.env, NATS_URL: natsUrl }, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  sim.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  while (!out.includes("READY")) await sleep(50);
  const nc = await connectNats({ servers: natsUrl, name: "weft-bench-aggregator" });
  const aggregator = createMeshAggregator({ nc, instanceId: "bench-aggregator", registryPrefix: prefix });
  await aggregator.snapshot(request); // starts gathering (one minute back)
  // One-second windows of the same demand (a snapshot each) until this process's CPU per second stops falling.
  const warm = await warmUntil(async () => {
    const cpu = process.cpuUsage();
    const at = performance.now();
    await sleep(1000);
    await aggregator.snapshot(request);
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / 1000 / ((performance.now() - at) / 1000);
  }, (cpuMsPerS) => stoppedFalling(cpuMsPerS), warmUp);
  const { value: measured, probe } = await betweenProbes(async () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let snapshot = await aggregator.snapshot(request);
    for (let s = 0; s < seconds; s++) {
      await sleep(1000);
      snapshot = await aggregator.snapshot(request);
    }
    return { snapshot, used: process.cpuUsage(cpu0), elapsedS: (performance.now() - t0) / 1000 };
  });
  const { snapshot, used, elapsedS } = measured;
  const heapUsedMb = process.memoryUsage().heapUsed / 1e6;
  aggregator.close();
  await nc.close();
  const childCpu = new Promise<number>((resolve) => sim.stdout!.on("data", () => {
    const m = /CPU ([\d.]+)/.exec(out);
    if (m) resolve(Number(m[1]));
  }));
  sim.kill("SIGTERM");
  const childMs = await childCpu;
  const aggregatorMsPerS = (used.user + used.system) / 1000 / elapsedS;
  return {
    request: kind,
    instances,
    keysPerInstance: 30,
    aggregatorCpuMsPerS: round(aggregatorMsPerS),
    aggregatorCpuMsPerSPerInstance: round(aggregatorMsPerS / instances),
    // The child ran the whole time (warm-up included): an upper bound per instance.
    responderCpuMsPerSPerInstance: round(childMs / (elapsedS + warm.warmupMs / 1000) / instances),
    heapUsedMb: round(heapUsedMb),
    methodsInSnapshot: snapshot.methods.length,
    warmUp: describeWarmUp(warm, "still falling"),
    ...(probe === undefined ? {} : { probe }),
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

const rows: Row[] = [];
for (const n of counts) for (const kind of ["cli", "dashboard"] as const) rows.push(await measure(n, kind));
// One measurement per point: a point measured in a slow spell is marked "*", not left out.
const slow = slowRunFilter(rows, (r) => r.probe);
for (const r of rows) r.slowCore = slow.isSlow(r);
if (values.json) console.log(JSON.stringify(rows, null, 2));
else {
  console.log(`mesh aggregator, ${seconds} s measured per point, 30 keys (10 methods x 3 callers) per instance; cli: a 60 s snapshot each second, dashboard: 300 s with per-second series`);
  console.log(slow.note(rows.map((r) => [r])));
  console.log("request    instances  aggregator CPU ms/s  per instance  responder CPU ms/s per instance  heap MB  keys in snapshot  warm-up");
  for (const r of rows) console.log(`${r.request.padEnd(9)}  ${`${r.instances}${r.slowCore ? " *" : ""}`.padEnd(9)}  ${String(r.aggregatorCpuMsPerS).padEnd(19)}  ${String(r.aggregatorCpuMsPerSPerInstance).padEnd(12)}  ${String(r.responderCpuMsPerSPerInstance).padEnd(31)}  ${String(r.heapUsedMb).padEnd(7)}  ${String(r.methodsInSnapshot).padEnd(16)}  ${r.warmUp}`);
}
