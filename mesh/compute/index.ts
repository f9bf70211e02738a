export type { ComputePool, RunOptions } from "./compute-pool.ts";
export { createInlineComputePool } from "./inline-compute-pool.ts";
export type { TaskFunction } from "./task-module.ts";
