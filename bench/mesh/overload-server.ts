// The instance under test of bench/mesh/overload.ts: a TestService wired exactly as the services' main
// files are (mesh/node: Weft host and engine, adaptive concurrency limit with load shedding, inbound
// deadlines, Connect over NATS, discovery), whose UnaryCall does a fixed amount of work per call:
//   --work sleep  waits --work-ms (I/O-bound: capacity = concurrency limit / work time)
//   --work cpu    spins the CPU for --work-ms (CPU-bound: the adaptive limit has to find capacity)
// Prints the bench ready line, then a stats line every 250 ms (limit, in flight, refused, event-loop
// delay and stalls, GC pauses, RSS) for the runner; answers "gc" on stdin with the live heap.
//
// Usage: node bench/mesh/overload-server.ts --work sleep|cpu --work-ms N --prefix P [--limit N]

import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { createInterface } from "node:readline";
import { readCommandLine } from "../../mesh/errors/index.ts";
import type { HandlerContext } from "@connectrpc/connect";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { silentLogger } from "../../mesh/host/index.ts";
import { nodeService, readMeshNodeConfig, startMeshNode } from "../../mesh/node/index.ts";
import { announceReady, closeOnSignal } from "../servers/child-protocol.ts";

const { values } = readCommandLine({
  usage: "node bench/mesh/overload-server.ts --work sleep|cpu [flags]   (started by npm run bench:overload)",
  summary: "The server of bench:overload: a mesh node whose handler sleeps or burns CPU per call, with the production shedding.",
  flags: {
    work: { type: "string", valueName: "sleep|cpu", description: "what each call does (required)" },
    "work-ms": { type: "string", valueName: "MS", defaultText: "1", description: "time per call" },
    prefix: { type: "string", valueName: "SUBJECT", defaultText: "weft.overload", description: "NATS subject prefix of this run" },
    limit: { type: "string", valueName: "N", defaultText: "MESH_CONCURRENCY_LIMIT", description: "ceiling of the adaptive concurrency limit" },
  },
  env: [{ name: "NATS_URL", defaultText: "nats://127.0.0.1:4222", description: "NATS of discovery; every other mesh/node variable is read too" }],
});
const work = values.work;
if (work !== "sleep" && work !== "cpu") throw new Error(`--work must be sleep or cpu, got ${String(work)}`);
const workMs = Number(values["work-ms"] ?? 1);
if (!(workMs > 0)) throw new Error(`--work-ms must be a positive number, got ${String(values["work-ms"])}`);
const prefix = values.prefix ?? "weft.overload";

// Only the ceiling of the adaptive limit is configurable, exactly as in production (MESH_CONCURRENCY_LIMIT).
const config = readMeshNodeConfig({
  ...process.env,
  INSTANCE_ID: `overload-${process.pid}`,
  MESH_REGISTRY_PREFIX: `${prefix}.registry`,
  MESH_RPC_PREFIX: `${prefix}.rpc`,
  MESH_LEAVE_GRACE_MS: "0",
  ...(values.limit === undefined ? {} : { MESH_CONCURRENCY_LIMIT: values.limit }),
}, "overload");

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: the work is the CPU time
  }
}

const node = await startMeshNode({
  config,
  logger: silentLogger,
  services: () => [
    nodeService(TestService, {
      emptyCall: () => ({}),
      async unaryCall(_req, ctx: HandlerContext) {
        if (work === "sleep") await sleep(workMs, undefined, { signal: ctx.signal });
        else spin(workMs);
        return { servedBy: config.instanceId };
      },
    }),
  ],
});

// Event-loop delay at 1 ms resolution over each 250 ms window (the node's own monitor reports p99 over
// 1 s windows, too coarse for this report).
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
// GC pauses per window: a long one stops every turn, refusals included. Pauses of 1 ms and more are
// listed with their wall-clock start, so the runner can match them with slow calls.
let gcMaxMs = 0;
let gcTotalMs = 0;
let gcPauses: [number, number][] = [];
const gc = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMaxMs = Math.max(gcMaxMs, e.duration);
    gcTotalMs += e.duration;
    if (e.duration >= 1 && gcPauses.length < 100) gcPauses.push([performance.timeOrigin + e.startTime, e.duration]);
  }
});
gc.observe({ entryTypes: ["gc"] });
// Stalls: moments the loop ran nothing else for more than STALL_MS (a long turn, a GC pause, the core
// taken by another process), found by a 1 ms timer that came late, with their wall-clock span. Twice
// the event-loop guard's turn budget: a shedding instance runs 4-6 ms turns by design.
const STALL_MS = 8;
let stalls: [number, number][] = [];
let lastTick = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - lastTick > STALL_MS && stalls.length < 200) stalls.push([performance.timeOrigin + lastTick + 1, performance.timeOrigin + now]);
  lastTick = now;
}, 1).unref();
const stats = setInterval(() => {
  const line = {
    stats: true,
    limit: node.limiter.limit,
    inFlight: node.limiter.inFlight,
    refused: node.limiter.refused,
    delayP99Ms: Math.max(0, delay.percentile(99) / 1e6 - 1),
    delayMaxMs: Math.max(0, delay.max / 1e6 - 1),
    rssMb: process.memoryUsage.rss() / 2 ** 20,
    heapMb: process.memoryUsage().heapUsed / 2 ** 20,
    gcMaxMs,
    gcTotalMs,
    gcPauses,
    stalls,
  };
  gcMaxMs = 0;
  gcTotalMs = 0;
  gcPauses = [];
  stalls = [];
  delay.reset();
  process.stdout.write(`${JSON.stringify(line)}\n`);
}, 250);
stats.unref();

// "gc" on stdin (the runner, with --expose-gc): a full collection, then what is still alive. Taken before
// and after the overload, it tells retained memory from the heap V8 keeps around (RSS rises for tens of
// seconds under load as V8 sizes its heap to the allocation rate, then stops).
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() !== "gc") return;
  (globalThis as { gc?: () => void }).gc?.();
  process.stdout.write(`${JSON.stringify({ liveHeapMb: process.memoryUsage().heapUsed / 2 ** 20 })}\n`);
});

announceReady(Number(node.address.split(":")[1]), `mesh/node TestService, ${work} ${workMs} ms per call, limit max ${config.concurrencyLimitMax}`);
closeOnSignal(() => node.drain());
