// Event-loop delay p99 on the main thread under CPU load (scrypt N=16384), inline vs the piscina pool,
// and tasks/s. Usage: node bench/backends/compute.ts [seconds=5] [inFlight=8] [threads=os.availableParallelism()]
import { availableParallelism } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { ComputePool } from "../../mesh/compute/index.ts";
import { createInlineComputePool, createPiscinaComputePool } from "../../mesh/compute/index.ts";
import { numberSetting, readCommandLine } from "../../mesh/errors/index.ts";

const { positionals } = readCommandLine({
  usage: "node bench/backends/compute.ts [seconds] [inFlight] [threads]   (part of npm run bench:backends)",
  summary: "Event-loop delay p99 on the main thread under CPU load (scrypt N=16384), inline vs the piscina pool, and tasks/s.",
  flags: {},
  positionals: [
    { name: "seconds", description: "measured seconds per pool (default 5)" },
    { name: "inFlight", description: "tasks in flight (default 8)" },
    { name: "threads", description: "piscina threads (default os.availableParallelism())" },
  ],
});
const seconds = numberSetting("seconds", positionals[0], 5, { min: 0.001 });
const inFlight = numberSetting("inFlight", positionals[1], 8, { min: 1, integer: true });
const threads = numberSetting("threads", positionals[2], availableParallelism(), { min: 1, integer: true });
const tasks = new URL("../../test/support/compute-tasks.ts", import.meta.url).href;

async function measure(name: string, pool: ComputePool) {
  await pool.run(tasks, "scrypt", { password: "warm", salt: "up" });
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  let done = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < until) {
        await pool.run(tasks, "scrypt", { password: "correct horse battery staple", salt: `salt${done}` });
        done++;
        // The next request arrives by I/O, as in a server: let the event loop turn between tasks.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }),
  );
  histogram.disable();
  console.log(
    JSON.stringify({
      pool: name,
      tasksPerSecond: Math.round(done / seconds),
      eventLoopDelayP50Ms: +(histogram.percentile(50) / 1e6).toFixed(2),
      eventLoopDelayP99Ms: +(histogram.percentile(99) / 1e6).toFixed(2),
      eventLoopDelayMaxMs: +(histogram.max / 1e6).toFixed(2),
    }),
  );
  await pool.close();
}

await measure("inline", createInlineComputePool());
await measure(`piscina(${threads} threads)`, createPiscinaComputePool({ maxThreads: threads, maxQueue: inFlight }));
