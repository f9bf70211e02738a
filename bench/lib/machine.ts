// What the results were measured on.

import * as os from "node:os";
import { canPin, findTaskset, LOAD_CORE, SERVER_CORE } from "./processes.ts";

/** Machine and runtime facts recorded with every result. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  /** True when servers and load generators ran pinned to separate cores (taskset found). */
  readonly pinned: boolean;
  readonly pinning: string;
  /** 1-minute load average when the run started and when it ended (other work on the machine). */
  readonly loadAverageStart: number;
  loadAverageEnd?: number;
}

/** Collects the machine facts at the start of a run. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  const taskset = findTaskset();
  const cores = os.availableParallelism();
  const pinned = canPin();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    pinned,
    pinning: pinned
      ? `server on core ${SERVER_CORE}, load generator / client on core ${LOAD_CORE} (${taskset} -c)`
      : taskset === undefined
        ? "not pinned: taskset not found"
        : "not pinned: fewer than 2 cores",
    loadAverageStart: Math.round(os.loadavg()[0] * 100) / 100,
  };
}
