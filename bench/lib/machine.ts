// What the results were measured on.

import { spawnSync } from "node:child_process";
import * as os from "node:os";
import { fileURLToPath } from "node:url";
import { canPin, findTaskset, LOAD_CORE, SERVER_CORE } from "./processes.ts";

/** The code that was measured: the commit, and whether the runtime or bench had uncommitted changes. */
export interface Revision {
  readonly commit: string;
  /** Files under mesh/ or bench/ that differ from the commit (uncommitted work was measured too). */
  readonly uncommitted: readonly string[];
}

/** The repository's revision, or "unknown" outside git. */
export function revision(): Revision {
  const cwd = fileURLToPath(new URL("../..", import.meta.url));
  const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd, encoding: "utf8" });
  if (head.status !== 0) return { commit: "unknown", uncommitted: [] };
  const status = spawnSync("git", ["status", "--porcelain", "--", "mesh", "bench", "gen"], { cwd, encoding: "utf8" });
  const uncommitted = status.stdout
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.slice(3).startsWith("bench/results/"))
    .map((line) => line.slice(3));
  return { commit: head.stdout.trim(), uncommitted };
}

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
