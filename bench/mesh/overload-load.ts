// The load generator of bench/mesh/overload.ts: a mesh client (gRPC over Weft's HTTP/2 transport, no
// retries, so every refusal is seen) calling TestService.UnaryCall on one instance.
//   --closed N   closed loop, N calls in flight, to measure the instance's capacity (calls/s)
//   --rate R     open loop: a call every 1/R s on a fixed schedule whatever the answers, so a slow
//                server cannot slow the arrivals down (no coordinated omission)
// Latency runs from just before the call to its answer (performance.now); how late each call left
// against its schedule ("lag") and this process's CPU and event-loop delay are reported so the
// generator can be ruled out as a source of latency. The warm-up (uncounted) runs in one-second windows
// for at least --warmup-ms, then closed: until the accepted calls/s stop rising; open: until the p50 of
// accepted and of refused calls stop falling; at most --max-warmup-ms (bench/lib/steady-state.ts).
// Prints {"phase":"measure"} when the measured window starts and one JSON result line at the end.
//
// Usage: node bench/mesh/overload-load.ts --port P (--closed N | --rate R) --warmup-ms W [--max-warmup-ms M] --duration-ms D

import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { readCommandLine } from "../../mesh/errors/index.ts";
import { Code, ConnectError } from "@connectrpc/connect";
import { TestService } from "../../gen/weft/testing/v1/test_pb.ts";
import { createMeshClient } from "../../mesh/client/index.ts";
import { createStaticDiscovery } from "../../mesh/discovery/index.ts";
import { REFUSED_HEADER } from "../../mesh/resilience/index.ts";
import { median } from "../lib/stats.ts";
import { stoppedFalling, stoppedRising, warmUntil } from "../lib/steady-state.ts";

const { values } = readCommandLine({
  usage: "node bench/mesh/overload-load.ts --port P (--closed N | --rate R) [flags]   (started by npm run bench:overload)",
  summary: "The load generator of bench:overload: closed-loop N in flight or an open-loop arrival rate; prints its counts as JSON.",
  flags: {
    port: { type: "string", valueName: "P", description: "port of the server under load (required)" },
    closed: { type: "string", valueName: "N", description: "closed loop: N calls in flight" },
    rate: { type: "string", valueName: "R", description: "open loop: R arrivals per second" },
    "warmup-ms": { type: "string", valueName: "MS", defaultText: "1000", description: "shortest uncounted warm-up" },
    "max-warmup-ms": { type: "string", valueName: "MS", defaultText: "the warm-up: a fixed warm-up", description: "longest warm-up: after --warmup-ms it goes on until closed, the calls/s stop rising; open, the p50s stop falling" },
    "duration-ms": { type: "string", valueName: "MS", defaultText: "5000", description: "measured time" },
    "max-outstanding": { type: "string", valueName: "N", defaultText: "20000", description: "arrivals beyond this many unanswered are counted, not sent" },
  },
});
const port = Number(values.port);
const closed = values.closed === undefined ? 0 : Number(values.closed);
const rate = values.rate === undefined ? 0 : Number(values.rate);
const warmupMs = Number(values["warmup-ms"] ?? 1000);
const maxWarmupMs = Number(values["max-warmup-ms"] ?? warmupMs);
const durationMs = Number(values["duration-ms"] ?? 5000);
// Bounds the generator's memory when the server stops answering: arrivals beyond it are counted, not sent.
const maxOutstanding = Number(values["max-outstanding"] ?? 20_000);
if (!(port > 0) || (closed > 0) === (rate > 0)) throw new Error("need --port and exactly one of --closed N / --rate R");

const mesh = createMeshClient({
  discovery: createStaticDiscovery({ endpoints: { [TestService.typeName]: [`127.0.0.1:${port}`] } }),
  retry: false,
  outlierDetection: false,
});
const client = mesh.client(TestService);
const CALL_TIMEOUT_MS = 10_000;

const accepted: number[] = [];
const refused: number[] = [];
const lag: number[] = [];
const otherErrors = new Map<string, number>();
let measuring = false;
let outstanding = 0;
let skipped = 0;
// Refusals slower than SLOW_REFUSAL_MS and this process's GC pauses, as wall-clock [start, end] ms, so
// the runner can tell which slow refusals a GC pause (here or in the instance) explains.
const SLOW_REFUSAL_MS = 10;
const slowRefusals: [number, number][] = [];
const gcPauses: [number, number][] = [];
// Moments this process's loop was stuck for more than STALL_MS (its 1 ms tick came late), as above.
const STALL_MS = 5;
const stalls: [number, number][] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (measuring && e.duration >= 1 && gcPauses.length < 10_000) gcPauses.push([performance.timeOrigin + e.startTime, performance.timeOrigin + e.startTime + e.duration]);
  }
}).observe({ entryTypes: ["gc"] });
// Accepted calls that completed inside the measured window: the throughput.
let completedInWindow = 0;
// The current warm-up window's answers (latencies of calls that completed in it, started before measuring).
let warmAccepted: number[] = [];
let warmRefused: number[] = [];
// When the loops stop: unknown until the warm-up ends (then the end of the measured window).
let until = Number.POSITIVE_INFINITY;

async function call(): Promise<void> {
  const record = measuring;
  const t0 = performance.now();
  outstanding++;
  try {
    await client.unaryCall({}, { timeoutMs: CALL_TIMEOUT_MS });
    if (record) accepted.push(performance.now() - t0);
    else warmAccepted.push(performance.now() - t0);
    if (measuring) completedInWindow++;
  } catch (e) {
    const t = performance.now() - t0;
    const err = ConnectError.from(e);
    if (err.code === Code.ResourceExhausted && err.metadata.get(REFUSED_HEADER) === "overloaded") {
      if (record) refused.push(t);
      else warmRefused.push(t);
      if (record && t > SLOW_REFUSAL_MS && slowRefusals.length < 10_000) slowRefusals.push([performance.timeOrigin + t0, performance.timeOrigin + t0 + t]);
    } else if (record) {
      const key = `${Code[err.code]}: ${err.rawMessage}`;
      otherErrors.set(key, (otherErrors.get(key) ?? 0) + 1);
    }
  } finally {
    outstanding--;
  }
}

async function closedLoop(): Promise<void> {
  await Promise.all(Array.from({ length: closed }, async () => {
    while (performance.now() < until) await call();
  }));
}

async function openLoop(start: number): Promise<void> {
  const interval = 1000 / rate;
  let next = start;
  // A 1 ms timer tick sends every call whose time has come; lag = how late each left.
  let lastTick = performance.now();
  while (next < until) {
    const now = performance.now();
    if (measuring && now - lastTick > STALL_MS && stalls.length < 10_000) stalls.push([performance.timeOrigin + lastTick + 1, performance.timeOrigin + now]);
    lastTick = now;
    while (next <= now && next < until) {
      if (measuring) lag.push(now - next);
      if (outstanding >= maxOutstanding) skipped++;
      else void call();
      next += interval;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  // Let the last calls answer (bounded by their timeout).
  while (outstanding > 0) await new Promise((r) => setTimeout(r, 5));
}

function summary(xs: number[]) {
  const s = Float64Array.from(xs).sort();
  const at = (p: number) => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(s.length * p))]);
  const r = (n: number) => Math.round(n * 100) / 100;
  return { count: s.length, p50: r(at(0.5)), p90: r(at(0.9)), p99: r(at(0.99)), p999: r(at(0.999)), max: r(s.length ? s[s.length - 1] : 0) };
}

await client.emptyCall({});
const delay = monitorEventLoopDelay({ resolution: 1 });
const start = performance.now();
const loop = closed > 0 ? closedLoop() : openLoop(start);

/** One warm-up window: accepted calls/s and the p50 of accepted and of refused calls that completed in it. */
interface WarmWindow { readonly rate: number; readonly acceptedP50: number | undefined; readonly refusedP50: number | undefined }
const WARM_WINDOW_MS = Math.min(1000, Math.max(warmupMs, 100));
const warm = await warmUntil<WarmWindow>(async () => {
  warmAccepted = [];
  warmRefused = [];
  const at = performance.now();
  await new Promise((r) => setTimeout(r, WARM_WINDOW_MS));
  const seconds = (performance.now() - at) / 1000;
  return { rate: warmAccepted.length / seconds, acceptedP50: warmAccepted.length > 0 ? median(warmAccepted) : undefined, refusedP50: warmRefused.length > 0 ? median(warmRefused) : undefined };
}, (windows) => {
  if (closed > 0) return stoppedRising(windows.map((w) => w.rate));
  // At a fixed offered rate the rate says nothing: the latencies settle (JIT, the adaptive limit finding capacity).
  const settled = (key: "acceptedP50" | "refusedP50") => {
    const last = windows.slice(-4).map((w) => w[key]);
    return last.every((v) => v === undefined) || (last.every((v) => v !== undefined) && stoppedFalling(last as number[]));
  };
  return windows.length >= 4 && settled("acceptedP50") && settled("refusedP50");
}, { minMs: warmupMs, maxMs: maxWarmupMs });

measuring = true;
delay.enable();
process.stdout.write(`${JSON.stringify({ phase: "measure" })}\n`);
const cpu0 = { at: performance.now(), usage: process.cpuUsage() };
until = cpu0.at + durationMs;
let cpu = 0;
setTimeout(() => {
  measuring = false;
  delay.disable();
  const used = process.cpuUsage(cpu0.usage);
  cpu = (used.user + used.system) / 1000 / (performance.now() - cpu0.at);
}, durationMs);
await loop;
mesh.close();

const seconds = durationMs / 1000;
process.stdout.write(`${JSON.stringify({
  result: true,
  mode: closed > 0 ? `closed ${closed}` : `open ${rate}/s`,
  offeredPerSec: closed > 0 ? undefined : rate,
  acceptedPerSec: Math.round(completedInWindow / seconds),
  accepted: summary(accepted),
  refused: summary(refused),
  other: Object.fromEntries(otherErrors),
  skipped,
  lag: summary(lag),
  clientCpu: Math.round(cpu * 100) / 100,
  slowRefusals,
  gcPauses,
  stalls,
  clientDelayP99Ms: Math.round(Math.max(0, delay.percentile(99) / 1e6 - 1) * 100) / 100,
  warmupMs: warm.warmupMs,
  ...(warm.steady === undefined ? {} : { steady: warm.steady }),
})}\n`);
process.exit(0);
