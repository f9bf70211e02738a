// Main event-loop delay while the compute pool is saturated, over several runs with their spread: password
// hashing (Argon2id at the OWASP cost, identity's task) and model training (recommendations' task on a
// synthetic order stream), on piscina with a thread per core and with one core left to the main thread,
// plus an inline reference and the floor (the same monitor over an idle event loop). Each run also records what competed for the CPU (load average, runnable
// threads sampled from /proc/stat, the process's involuntary context switches, main-thread GC), so a bad
// run can be told apart from a bad pool.
// Each pool is first kept saturated in one-second windows until its tasks/s stop rising (workers' JIT);
// both cores' speed is probed around every run, and runs in a slow spell leave the medians.
// Usage: node bench/backends/compute.ts [--runs 5] [--seconds 3] [--in-flight 8] [--workloads hash,train]
//        [--warmup 3] [--max-warmup 30] [--quick]
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import type { ComputePool } from "../../mesh/compute/index.ts";
import { createInlineComputePool, createPiscinaComputePool } from "../../mesh/compute/index.ts";
import { numberSetting, readCommandLine } from "../../mesh/errors/index.ts";
import { loadSeedProducts } from "../../services/catalog/index.ts";
import { OWASP_ARGON2ID, PASSWORD_TASK_URL } from "../../services/identity/password-params.ts";
import { TRAIN_TASK_URL } from "../../services/recommendations/train-task.ts";
import { packOrders } from "../../services/recommendations/packed-orders.ts";
import { shareCatalogue } from "../../services/recommendations/shared-catalogue.ts";
import { syntheticOrders } from "../recommendations/synthetic-orders.ts";
import { betweenProbes, type RunProbes } from "../lib/core-probe.ts";
import { slowRunFilter } from "../lib/results.ts";
import { describeWarmUp, warmUntilSteady } from "../lib/steady-state.ts";
import { warmUpBounds, warmUpFlags } from "../lib/warm-up-flags.ts";

// Each pool's warm-up: at least 3 s saturated, then until its tasks/s stop rising, at most 30 s.
const WARM_UP = { minS: 3, maxS: 30, quickS: 0.3, until: "the pool's tasks/s stop rising" };
/** Fewest tasks per warm-up window, so that a window's rate is not one or two tasks' worth. */
const WARM_WINDOW_TASKS = 8;

const { values } = readCommandLine({
  usage: "node bench/backends/compute.ts [flags]   (part of npm run bench:backends)",
  summary: "Main event-loop delay p99 while the compute pool is saturated by password hashing or model training,\nover several runs with their spread and what competed for the CPU in each.",
  flags: {
    runs: { type: "string", valueName: "N", defaultText: "5", description: "runs per workload and pool (1 to 50)" },
    seconds: { type: "string", valueName: "S", defaultText: "3", description: "measured seconds per run" },
    "in-flight": { type: "string", valueName: "N", defaultText: "8", description: "tasks in flight" },
    workloads: { type: "string", valueName: "LIST", defaultText: "hash,train", description: "hash (Argon2id) and/or train (recommendations)" },
    ...warmUpFlags(WARM_UP),
    quick: { type: "boolean", default: false, description: "a fixed 0.3 s warm-up and no core probe: checks that it runs, says nothing about speed" },
  },
});
const runs = numberSetting("--runs", values.runs, 5, { min: 1, max: 50, integer: true });
const seconds = numberSetting("--seconds", values.seconds, 3, { min: 0.1, max: 600 });
const inFlight = numberSetting("--in-flight", values["in-flight"], 8, { min: 1, integer: true });
const cores = availableParallelism();
const quick = values.quick === true;
const warmUp = warmUpBounds(values, WARM_UP, quick);

interface Workload {
  readonly name: string;
  readonly task: string;
  readonly fn: string;
  /** A new input per task (what the main thread clones to the worker). */
  readonly input: () => unknown;
  /** Also run once on the inline pool, for reference (not for tasks that block the loop for seconds). */
  readonly inlineReference: boolean;
}

async function workloads(): Promise<Workload[]> {
  const wanted = new Set((values.workloads ?? "hash,train").split(",").map((w) => w.trim()));
  const list: Workload[] = [];
  if (wanted.has("hash")) {
    list.push({ name: "hash (Argon2id, OWASP cost)", task: PASSWORD_TASK_URL, fn: "hashPassword", input: () => ({ password: "correct horse battery staple", salt: randomBytes(16), params: OWASP_ARGON2ID }), inlineReference: true });
  }
  if (wanted.has("train")) {
    const products = (await loadSeedProducts()).map(({ id, name, description, category, tags }) => ({ id, name, description, category, tags: [...tags] }));
    const { orders } = syntheticOrders({ products, users: 1500, seed: 1 });
    // As the service's order log keeps them: shared columns, so a task's input copies no orders.
    const packed = packOrders(orders);
    const catalogue = shareCatalogue(products);
    let version = 0;
    list.push({ name: `train (${products.length} products, ${orders.length} orders)`, task: TRAIN_TASK_URL, fn: "trainRecommendations", input: () => ({ products: catalogue, orders: packed, version: ++version }), inlineReference: false });
  }
  return list;
}

/** Runnable threads on the whole machine (`procs_running` of /proc/stat), or undefined off Linux. */
function runnableThreads(): number | undefined {
  try {
    return Number(/^procs_running (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
  } catch {
    return undefined;
  }
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/**
 * Keeps `inFlight` tasks of `workload` running on `pool` until `until` (performance.now()) and at least
 * `minTasks` finished; returns how many finished.
 */
async function keepBusy(workload: Workload, pool: ComputePool, until: number, minTasks = 0): Promise<number> {
  let done = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < until || done < minTasks) {
        await pool.run(workload.task, workload.fn, workload.input());
        done++;
        // The next request arrives by I/O, as in a server: let the event loop turn between tasks.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }),
  );
  return done;
}

async function run(workload: Workload, pool: ComputePool, poolName: string, index: number, warmUpText: string) {
  const gcPauses: number[] = [];
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcPauses.push(entry.duration);
  });
  gc.observe({ entryTypes: ["gc"] });
  const runnable: number[] = [];
  const sampler = setInterval(() => {
    const n = runnableThreads();
    if (n !== undefined) runnable.push(n);
  }, 100);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const usage = process.resourceUsage();
  const mainCpu = process.threadCpuUsage();
  const load = loadavg()[0];
  histogram.enable();
  const started = performance.now();
  const done = await keepBusy(workload, pool, started + seconds * 1000);
  histogram.disable();
  const wallMs = performance.now() - started;
  clearInterval(sampler);
  gc.disconnect();
  const after = process.resourceUsage();
  const main = process.threadCpuUsage(mainCpu);
  const result = {
    workload: workload.name,
    pool: poolName,
    run: index + 1,
    tasksPerSecond: round(done / (wallMs / 1000), 1),
    eventLoopDelayP50Ms: round(histogram.percentile(50) / 1e6),
    eventLoopDelayP99Ms: round(histogram.percentile(99) / 1e6),
    eventLoopDelayMaxMs: round(histogram.max / 1e6),
    mainThreadCpuPercent: round(((main.user + main.system) / 1000 / wallMs) * 100, 1),
    mainGcMaxMs: round(Math.max(0, ...gcPauses)),
    mainGcMs: round(gcPauses.reduce((a, b) => a + b, 0), 1),
    involuntarySwitchesPerSecond: Math.round((after.involuntaryContextSwitches - usage.involuntaryContextSwitches) / (wallMs / 1000)),
    runnableThreadsMean: runnable.length === 0 ? null : round(runnable.reduce((a, b) => a + b, 0) / runnable.length, 1),
    loadAverage1m: round(load),
    warmUp: warmUpText,
  };
  return result;
}

type Result = Awaited<ReturnType<typeof run>> & { probe?: RunProbes };

/** Pearson's correlation of two series, or null when it is undefined (fewer than 3 points, no variation). */
function correlation(xs: readonly number[], ys: readonly number[]): number | null {
  if (xs.length < 3 || xs.some(Number.isNaN)) return null;
  const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const [mx, my] = [mean(xs), mean(ys)];
  let sxy = 0, sxx = 0, syy = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i]! - my);
    sxx += (x - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  });
  return sxx === 0 || syy === 0 ? null : round(sxy / Math.sqrt(sxx * syy));
}

/** The spread of a pool's runs; the median and bad runs over `counted` (the runs outside slow spells). */
function spread(all: readonly Result[], counted: readonly Result[]) {
  const results = counted;
  const p99 = results.map((r) => r.eventLoopDelayP99Ms).sort((a, b) => a - b);
  const median = p99[Math.floor(p99.length / 2)];
  // A bad run: p99 at least twice the median (and above the 2 ms goal).
  const bad = results.filter((r) => r.eventLoopDelayP99Ms >= Math.max(2, 2 * median));
  const good = results.filter((r) => !bad.includes(r));
  const mean = (xs: readonly Result[], key: "runnableThreadsMean" | "involuntarySwitchesPerSecond" | "mainGcMaxMs" | "loadAverage1m") =>
    xs.length === 0 ? null : round(xs.reduce((a, r) => a + (r[key] ?? 0), 0) / xs.length, 1);
  return {
    workload: results[0].workload,
    pool: results[0].pool,
    runs: all.length,
    slowCoreRunsDropped: all.length - counted.length,
    p99MinMs: p99[0],
    p99MedianMs: median,
    p99MaxMs: p99.at(-1),
    badRuns: bad.length,
    // Across the runs: does the p99 follow the machine's runnable threads (other work) or not?
    p99VsRunnableThreadsCorrelation: correlation(results.map((r) => r.runnableThreadsMean ?? Number.NaN), results.map((r) => r.eventLoopDelayP99Ms)),
    // What the bad runs had that the good ones did not.
    runnableThreads: { good: mean(good, "runnableThreadsMean"), bad: mean(bad, "runnableThreadsMean") },
    involuntarySwitchesPerSecond: { good: mean(good, "involuntarySwitchesPerSecond"), bad: mean(bad, "involuntarySwitchesPerSecond") },
    mainGcMaxMs: { good: mean(good, "mainGcMaxMs"), bad: mean(bad, "mainGcMaxMs") },
    loadAverage1m: { good: mean(good, "loadAverage1m"), bad: mean(bad, "loadAverage1m") },
  };
}

const pools: Array<{ name: string; make: () => ComputePool; runs: number }> = [
  { name: "inline (reference)", make: () => createInlineComputePool(), runs: 1 },
  { name: `piscina(${cores} threads, one per core)`, make: () => createPiscinaComputePool({ maxThreads: cores, maxQueue: inFlight }), runs },
  {
    name: `piscina(${cores} threads, one per core, at the loop's priority)`,
    make: () => createPiscinaComputePool({ maxThreads: cores, maxQueue: inFlight, niceIncrement: 0 }),
    runs,
  },
];
if (cores > 1) pools.push({ name: `piscina(${cores - 1} threads, a core left to the main thread)`, make: () => createPiscinaComputePool({ maxThreads: cores - 1, maxQueue: inFlight }), runs });

const groups: Result[][] = [];
// The floor, in the same run: the monitor over an event loop with no work (tasks that only wait). Its p50
// is the monitor's 1 ms resolution; what a pool adds to the p99 is the difference from this one's.
{
  const idle: ComputePool = { run: () => new Promise((resolve) => setTimeout(resolve, 50)), close: async () => {} };
  const nothing: Workload = { name: "none (the monitor's floor)", task: "", fn: "", input: () => undefined, inlineReference: false };
  const results: Result[] = [];
  for (let i = 0; i < runs; i++) {
    const { value, probe } = await betweenProbes(() => run(nothing, idle, "no pool", i, "none"), !quick);
    console.log(JSON.stringify(value));
    results.push({ ...value, ...(probe === undefined ? {} : { probe }) });
  }
  groups.push(results);
}
for (const workload of await workloads()) {
  for (const { name, make, runs: count } of pools) {
    if (name.startsWith("inline") && !workload.inlineReference) continue;
    const pool = make();
    await pool.run(workload.task, workload.fn, workload.input()); // worker start, module load
    // Saturated in short windows until the tasks/s stop rising (workers' JIT; the training's first passes).
    // A window holds at least WARM_WINDOW_TASKS tasks: one of a couple of second-long trainings says no rate.
    const windowMs = Math.min(1000, Math.max(warmUp.minMs, 100));
    const warm = await warmUntilSteady(async () => {
      const started = performance.now();
      const done = await keepBusy(workload, pool, started + windowMs, quick ? 0 : WARM_WINDOW_TASKS);
      return (done * 1000) / (performance.now() - started);
    }, warmUp);
    const results: Result[] = [];
    for (let i = 0; i < count; i++) {
      const { value, probe } = await betweenProbes(() => run(workload, pool, name, i, describeWarmUp(warm)), !quick);
      console.log(JSON.stringify(value));
      results.push({ ...value, ...(probe === undefined ? {} : { probe }) });
    }
    await pool.close();
    groups.push(results);
  }
}
// Runs in a slow spell of either core (this process and its workers are not pinned) leave the medians.
const slow = slowRunFilter(groups.flat(), (r) => r.probe);
for (const results of groups) console.log(JSON.stringify({ summary: spread(results, slow.counted(results)) }));
console.log(JSON.stringify({ slowCores: slow.note(groups), slowRuns: groups.flat().filter(slow.isSlow).map((r) => `${r.workload} / ${r.pool} run ${r.run}`) }));
