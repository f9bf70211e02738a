// Child processes for the benchmarks: pinned to a core with taskset when it exists, started and stopped
// by pid, with their CPU time read from /proc so the results can say which side was saturated.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/** Every child this module started that has not exited yet, so an interrupted run can stop them. */
const live = new Set<ChildProcess>();

function track(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
}

/** Kills (SIGKILL) every child this process started that is still running. */
export function killChildren(): void {
  for (const child of live) child.kill("SIGKILL");
}

/** Core the server under test runs on. */
export const SERVER_CORE = 0;
/** Core the load generator (or client driver) runs on. */
export const LOAD_CORE = 1;

/** Path of taskset, or undefined when it is not installed. */
export function findTaskset(): string | undefined {
  for (const path of ["/usr/bin/taskset", "/bin/taskset"]) {
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** True when servers and load can be pinned to separate cores. */
export function canPin(): boolean {
  return findTaskset() !== undefined && availableParallelism() > Math.max(SERVER_CORE, LOAD_CORE);
}

/** A command line, prefixed with `taskset -c <core>` when pinning is possible. */
export function pinned(core: number | undefined, command: string, args: readonly string[]): { command: string; args: string[] } {
  const taskset = core === undefined || !canPin() ? undefined : findTaskset();
  return taskset === undefined ? { command, args: [...args] } : { command: taskset, args: ["-c", String(core), command, ...args] };
}

let clockTicks: number | undefined;

/** Seconds of CPU (user + system) used so far by process `pid`, or undefined when it cannot be read. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 overall.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    clockTicks ??= Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

/** Seconds core `core` spent busy (not idle, not waiting for I/O) since boot, from /proc/stat. */
export function coreBusySeconds(core: number): number | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8")
      .split("\n")
      .find((l) => l.startsWith(`cpu${core} `));
    if (line === undefined) return undefined;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    clockTicks ??= Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
    return (total - ticks[3] - ticks[4]) / clockTicks;
  } catch {
    return undefined;
  }
}

/** How often a CpuWindow samples /proc while it is open. */
const CPU_SAMPLE_MS = 100;

/**
 * Measures the CPU share of some processes, and how busy the two benchmark cores were in total, over a
 * window (1.0 = one core fully busy). The difference between a core's busy share and the share of
 * the benchmark process on it is other work on the machine. It samples /proc every 100 ms while open,
 * so a process that exits before `end()` is measured up to its last sample instead of being lost.
 */
export class CpuWindow {
  readonly #samplers: ReadonlyMap<string, () => number | undefined>;
  readonly #first = new Map<string, { cpu: number; at: number }>();
  readonly #last = new Map<string, { cpu: number; at: number }>();
  #timer: NodeJS.Timeout | undefined;
  #result: Record<string, number | undefined> = {};

  /** `pids`: processes to measure by name; the cores are always measured, as `serverCore` and `loadCore`. */
  constructor(pids: Record<string, number | undefined>) {
    const samplers = new Map<string, () => number | undefined>();
    for (const [name, pid] of Object.entries(pids)) samplers.set(name, () => cpuSeconds(pid));
    samplers.set("serverCore", () => coreBusySeconds(SERVER_CORE));
    samplers.set("loadCore", () => coreBusySeconds(LOAD_CORE));
    this.#samplers = samplers;
  }

  #sample(): void {
    const at = performance.now();
    for (const [name, sampler] of this.#samplers) {
      const cpu = sampler();
      if (cpu === undefined) continue;
      if (!this.#first.has(name)) this.#first.set(name, { cpu, at });
      this.#last.set(name, { cpu, at });
    }
  }

  /** Opens the window. */
  begin(): void {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), CPU_SAMPLE_MS);
  }

  /** Closes the window and computes the shares. Idempotent. */
  end(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sample();
    for (const name of this.#samplers.keys()) {
      const first = this.#first.get(name);
      const last = this.#last.get(name);
      const seconds = first && last ? (last.at - first.at) / 1000 : 0;
      this.#result[name] = first && last && seconds > 0.05 ? Math.round(((last.cpu - first.cpu) / seconds) * 100) / 100 : undefined;
    }
  }

  /** CPU share per process name (undefined where it could not be read). */
  get result(): Record<string, number | undefined> {
    return this.#result;
  }
}

/** A server child process that announced it is ready. */
export interface StartedServer {
  readonly kind: "ready";
  readonly port: number;
  readonly pid: number;
  readonly detail: string;
  /** True when the child has exited (crashed) since it started. */
  exited(): boolean;
  /** The last lines it wrote to stderr. */
  stderrTail(): string;
  /** Stops it (SIGTERM, then SIGKILL after 3 s) and waits for the exit. */
  stop(): Promise<void>;
}

/** A server scenario whose implementation does not exist yet. */
export interface UnavailableServer {
  readonly kind: "unavailable";
  readonly reason: string;
}

const READY_TIMEOUT_MS = 20_000;

/** Starts `node <nodeFlags> <script> <args>` on `core` and waits for its ready (or unavailable) line. */
export function startChild(
  script: string,
  args: readonly string[],
  core: number,
  nodeFlags: readonly string[] = [],
  env?: Readonly<Record<string, string>>,
): Promise<StartedServer | UnavailableServer> {
  const cmd = pinned(core, process.execPath, [...nodeFlags, script, ...args]);
  const child = spawn(cmd.command, cmd.args, { stdio: ["ignore", "pipe", "pipe"], ...(env === undefined ? {} : { env: { ...process.env, ...env } }) });
  track(child);
  let stderr = "";
  let exited = false;
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exitPromise = new Promise<void>((resolve) => child.once("exit", () => { exited = true; resolve(); }));
  return new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} did not announce itself within ${READY_TIMEOUT_MS} ms; stderr: ${stderr.trim()}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf("\n");
      if (newline < 0) return;
      clearTimeout(timer);
      child.stdout.off("data", onData);
      child.stdout.resume();
      let line: { ready?: boolean; port?: number; detail?: string; unavailable?: string };
      try {
        line = JSON.parse(stdout.slice(0, newline));
      } catch {
        child.kill("SIGKILL");
        reject(new Error(`${script} printed an unexpected line: ${stdout.slice(0, newline)}`));
        return;
      }
      if (typeof line.unavailable === "string") {
        resolve({ kind: "unavailable", reason: line.unavailable });
        return;
      }
      if (line.ready !== true || typeof line.port !== "number" || child.pid === undefined) {
        child.kill("SIGKILL");
        reject(new Error(`${script} printed an unexpected line: ${stdout.slice(0, newline)}`));
        return;
      }
      resolve({
        kind: "ready",
        port: line.port,
        pid: child.pid,
        detail: line.detail ?? "",
        exited: () => exited,
        stderrTail: () => stderr.trim(),
        stop: () => stopChild(child, exitPromise),
      });
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${signal ?? code}) before it was ready; stderr: ${stderr.trim()}`));
    });
  });
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

/** The outcome of a process run to completion. */
export interface Completed {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of `runToCompletion`. */
export interface RunOptions {
  /** Killed (SIGKILL) after this long. */
  readonly timeoutMs: number;
  /** Receives the pid once spawned, so the caller can measure its CPU while it runs. */
  readonly onSpawn?: (pid: number | undefined) => void;
  /** Receives each complete stdout line as it arrives. */
  readonly onLine?: (line: string) => void;
  /** Environment variables added to the child's. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Runs a command to completion and returns its output. */
export function runToCompletion(command: string, args: readonly string[], options: RunOptions): Promise<Completed> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }) });
    track(child);
    let stdout = "";
    let stderr = "";
    let scanned = 0;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (options.onLine === undefined) return;
      for (let newline = stdout.indexOf("\n", scanned); newline >= 0; newline = stdout.indexOf("\n", scanned)) {
        options.onLine(stdout.slice(scanned, newline));
        scanned = newline + 1;
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-20_000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    options.onSpawn?.(child.pid);
  });
}

/** Busy share (0..1) of the server and load cores over `ms` milliseconds. */
export async function coresBusy(ms: number): Promise<{ serverCore: number; loadCore: number } | undefined> {
  const s0 = coreBusySeconds(SERVER_CORE);
  const l0 = coreBusySeconds(LOAD_CORE);
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const s1 = coreBusySeconds(SERVER_CORE);
  const l1 = coreBusySeconds(LOAD_CORE);
  const seconds = (performance.now() - t0) / 1000;
  if (s0 === undefined || l0 === undefined || s1 === undefined || l1 === undefined) return undefined;
  return { serverCore: (s1 - s0) / seconds, loadCore: (l1 - l0) / seconds };
}

/** Both benchmark cores count as idle below this busy share. */
export const IDLE_BELOW = 0.2;

/**
 * Waits until both benchmark cores are idle (each < 20% busy over half a second), for at most
 * `maxMs`. Returns how long it waited and how busy the cores were at the end.
 */
export async function waitForIdleCores(maxMs: number): Promise<{ waitedMs: number; idle: boolean; serverCore?: number; loadCore?: number }> {
  const start = performance.now();
  for (;;) {
    const busy = await coresBusy(500);
    const waitedMs = Math.round(performance.now() - start);
    if (busy === undefined) return { waitedMs, idle: false };
    const idle = busy.serverCore < IDLE_BELOW && busy.loadCore < IDLE_BELOW;
    const round = (n: number) => Math.round(n * 100) / 100;
    if (idle || waitedMs >= maxMs) return { waitedMs, idle, serverCore: round(busy.serverCore), loadCore: round(busy.loadCore) };
  }
}

/** A child that talks in JSON lines: commands on its stdin, reports on its stdout. */
export interface LineChild {
  readonly pid: number;
  /** Writes `message` as one JSON line to the child's stdin. */
  send(message: unknown): void;
  /** The next stdout line (parsed) that `accept` takes; rejects when the child exits or after `timeoutMs`. */
  next(accept: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  /** The end of its stderr. */
  stderrTail(): string;
  /** Closes its stdin, then SIGTERM (SIGKILL after 3 s); resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts `node <nodeFlags> <script> <args>` on `core` with its stdin and stdout as JSON-line channels. */
export function startLineChild(script: string, args: readonly string[], core: number | undefined, nodeFlags: readonly string[] = [], env?: Readonly<Record<string, string>>): LineChild {
  const cmd = pinned(core, process.execPath, [...nodeFlags, script, ...args]);
  const child = spawn(cmd.command, cmd.args, { stdio: ["pipe", "pipe", "pipe"], ...(env === undefined ? {} : { env: { ...process.env, ...env } }) });
  track(child);
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  child.stdin.on("error", () => {}); // a child that exited: next() reports it
  const queue: Record<string, unknown>[] = [];
  let waiter: (() => void) | undefined;
  let buffered = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        const parsed = JSON.parse(line) as unknown;
        if (parsed !== null && typeof parsed === "object") queue.push(parsed as Record<string, unknown>);
      } catch {
        // not a protocol line
      }
    }
    waiter?.();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("exit", () => waiter?.());
  return {
    pid: child.pid ?? -1,
    send: (message) => child.stdin.write(`${JSON.stringify(message)}\n`),
    next: async (accept, timeoutMs) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        while (queue.length > 0) {
          const line = queue.shift()!;
          if (accept(line)) return line;
        }
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${script} exited (${child.signalCode ?? child.exitCode}); stderr: ${stderr.trim().slice(-800)}`);
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`${script} did not answer within ${timeoutMs} ms; stderr: ${stderr.trim().slice(-800)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        waiter = undefined;
      }
    },
    stderrTail: () => stderr.trim(),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      const term = setTimeout(() => child.kill("SIGTERM"), 1000);
      await exited;
      clearTimeout(timer);
      clearTimeout(term);
    },
  };
}
