export type { ComputePool, RunOptions } from "./compute-pool.ts";
export { createInlineComputePool } from "./inline-compute-pool.ts";
export { createPiscinaComputePool } from "./piscina-compute-pool.ts";
export type { PiscinaComputePoolOptions } from "./piscina-compute-pool.ts";
export { poolToConnectError } from "./piscina-errors.ts";
export type { TaskContext, TaskFunction } from "./task-module.ts";
export { ComputeOptionsError } from "../errors/index.ts";
