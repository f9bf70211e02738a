import { defineConfig } from "vitest/config";

// Three groups, run one after the other (sequence.groupOrder), so that files which fill both cores
// never run beside files whose assertions depend on timing:
// 1. "parallel": everything else, two files at a time.
// 2. "heavy": CPU-saturating files (benchmark harness, Chromium, the whole in-process shop), two at a time.
// 3. "timing": timing-sensitive files (real processes under load, deadlines, drains, discovery bounds,
//    event-loop measurements), one file at a time.
const HEAVY = [
  "bench/run.test.ts",
  "bench/shop/run.test.ts",
  "test/shop/browser.test.ts",
  "test/interop/browser.test.ts",
  "test/shop/npm-start.test.ts",
  "test/backends/events-durability.test.ts",
  "test/shop/cache-bounds.test.ts",
  // The whole in-process shop and a dozen CLI processes, one after another.
  "test/cli/weft-shop.test.ts",
  "test/other-languages/other-languages.test.ts",
  "test/startup/help.test.ts",
  // Chromium, npm start and weft dash (a Vite build) together.
  "test/dash/dashboard.test.ts",
];
const TIMING = [
  "test/distributed/**/*.test.ts",
  // Failover drills: a primary killed under bounded load, the gap measured.
  "test/cluster/**/*.test.ts",
  "test/cli/weft-distributed.test.ts",
  "test/cli/weft-secure.test.ts",
  "test/dash/dashboard-distributed.test.ts",
  "test/wire/drain-process.test.ts",
  "test/backends/events-nats-restart.test.ts",
  "test/backends/cache-redis-outage.test.ts",
  "test/backends/cache-invalidation.test.ts",
  "mesh/compute/piscina-compute-pool.test.ts",
  "mesh/discovery/nats-discovery.test.ts",
  "mesh/resilience/event-loop-guard.test.ts",
  // A bystander's p99 beside an attacker's bodies.
  "test/shop/request-cost.test.ts",
  // The suite's cases carry deadlines of their own: beside a CPU-saturating file they time out.
  "test/conformance/conformance.test.ts",
];
const ALL = ["mesh/**/*.test.ts", "services/**/*.test.ts", "test/**/*.test.ts", "bench/**/*.test.ts", "scripts/**/*.test.ts"];

export default defineConfig({
  test: {
    // CI runs files and tests in a random order (the seed is printed; `--sequence.seed N` replays it), so
    // every CI run also checks that no test depends on another's leftovers. Groups keep their order.
    sequence: { shuffle: process.env.CI === "true" },
    // Tests start real servers and child processes; two cores, so two files at a time.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".vitest-results.json" }]] : ["default"],
    projects: [
      {
        extends: true,
        test: { name: "parallel", include: ALL, exclude: [...HEAVY, ...TIMING], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        // Each file here fills a core for tens of seconds (tens of thousands of calls or events): more time per test.
        test: { name: "heavy", include: HEAVY, testTimeout: 120_000, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        // Starting several mesh/node processes on busy shared cores takes seconds: longer per-test time.
        test: { name: "timing", include: TIMING, fileParallelism: false, testTimeout: 120_000, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
