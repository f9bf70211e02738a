// The client-side load loop shared by every client driver: `concurrency` calls in flight, each
// response checked, a warm-up that is not counted, then a measured window. Prints a
// `{"phase":"measure"}` line when the measured window starts, then the result line.

import { type CommandFlag, type CommandSpec, type CommandValues, numberSetting, readCommandLine } from "../../mesh/errors/index.ts";
import { gcPerThousandCalls, startGcWindow, type GcCounts } from "../lib/gc-window.ts";
import { sliceRequests } from "../lib/slice-commands.ts";
import { warmUntilSteady } from "../lib/steady-state.ts";

/** What a client driver reports. */
export interface DriveResult {
  /** Calls answered correctly during the measured window. */
  readonly calls: number;
  /** Calls that failed or answered wrongly at any time (warm-up included). */
  readonly failed: number;
  /** Length of the measured window in seconds. */
  readonly seconds: number;
  readonly callsPerSec: number;
  /** The first failure, for the report. */
  readonly firstError?: string;
  /** CPU share of this client process during the window (1.0 = one core busy). */
  readonly clientCpu: number;
  /** Client CPU microseconds per call in the window: moves least with other work on the machine. */
  readonly clientUsPerCall?: number;
  /** How long the warm-up took, and whether the rate had stopped rising (else the maximum ended it). */
  readonly warmupMs?: number;
  readonly steady?: boolean | undefined;
  /** Garbage collections of this client per 1,000 calls of the window. */
  readonly gcPer1000Calls?: GcCounts;
  /** A description of the client. */
  readonly detail: string;
}

/** Options of one drive. */
export interface DriveOptions {
  /** Calls kept in flight. */
  readonly concurrency: number;
  /** Uncounted warm-up, in milliseconds: at least this long, then until the rate stops rising. */
  readonly warmupMs: number;
  /** Longest warm-up, in milliseconds; at or below `warmupMs` the warm-up is a fixed `warmupMs`. */
  readonly maxWarmupMs: number;
  /** Measured window, in milliseconds. */
  readonly durationMs: number;
  /** Describes the client in the results. */
  readonly detail: string;
  /**
   * Driven in slices by the runner (bench/lib/paired-slices.ts) instead of one warm-up and one window:
   * after the first checked call it prints `{"phase":"ready"}`, then for each `{"slice":MS}` line on stdin
   * keeps the calls in flight for MS, lets them finish (nothing in flight between slices, so the other
   * side of a pair has the cores) and prints a {@link SliceReport}; `{"end":true}` or the end of stdin
   * ends the drive. The warm-up and window options are then unused.
   */
  readonly slices?: boolean;
}

/** One slice's report in slice mode: the measured window's fields of {@link DriveResult}, for the slice alone. */
export type SliceReport = { readonly slice: true } & Pick<DriveResult, "calls" | "failed" | "seconds" | "callsPerSec" | "firstError" | "clientCpu" | "clientUsPerCall" | "gcPer1000Calls">;

/** Keeps `concurrency` calls in flight until the window ends, and checks every response. */
export async function drive<T>(call: () => Promise<T>, isCorrect: (response: T) => boolean, options: DriveOptions): Promise<DriveResult> {
  let ok = 0;
  let failed = 0;
  let firstError: string | undefined;
  let stopping = false;

  // One checked call first: a client that cannot talk to the server fails fast, not after the window.
  try {
    if (!isCorrect(await call())) throw new Error("wrong response message");
  } catch (error) {
    const firstError = String((error as Error).message ?? error);
    return { calls: 0, failed: 1, seconds: 0, callsPerSec: 0, firstError, clientCpu: 0, detail: options.detail };
  }

  // Slice mode parks the loops here between slices.
  let gate: Promise<void> | undefined;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const loop = async () => {
    while (!stopping) {
      if (gate !== undefined) {
        if (--inFlight === 0) drained?.();
        await gate;
        inFlight++;
        continue;
      }
      try {
        const response = await call();
        if (isCorrect(response)) {
          ok++;
        } else {
          failed++;
          firstError ??= "wrong response message";
        }
      } catch (error) {
        failed++;
        firstError ??= String((error as Error).message ?? error);
      }
    }
  };
  if (options.slices === true) {
    // Park every loop, then open the gate for one slice at a time.
    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    inFlight = options.concurrency;
    let parked = new Promise<void>((resolve) => (drained = resolve));
    const loops = Array.from({ length: options.concurrency }, loop);
    await parked;
    process.stdout.write(`${JSON.stringify({ phase: "ready" })}\n`);
    for await (const ms of sliceRequests()) {
      parked = new Promise<void>((resolve) => (drained = resolve));
      const release = open;
      const next = new Promise<void>((resolve) => (open = resolve));
      const [okBefore, failedBefore] = [ok, failed];
      const at = performance.now();
      const cpuBefore = process.cpuUsage();
      const gc = startGcWindow();
      gate = undefined;
      release();
      await new Promise((resolve) => setTimeout(resolve, ms));
      gate = next;
      const calls = ok - okBefore;
      const seconds = (performance.now() - at) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      const collections = gc.stop();
      await parked;
      const sliceFailed = failed - failedBefore;
      const slice: SliceReport = {
        slice: true,
        calls,
        failed: sliceFailed,
        seconds,
        callsPerSec: calls / seconds,
        ...(sliceFailed > 0 ? { firstError: firstError ?? "failed" } : {}),
        clientCpu: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100) / 100,
        ...(calls > 0 ? { clientUsPerCall: Math.round(((cpu.user + cpu.system) / calls) * 10) / 10, gcPer1000Calls: gcPerThousandCalls(collections, calls) } : {}),
      };
      process.stdout.write(`${JSON.stringify(slice)}\n`);
    }
    stopping = true;
    open();
    await Promise.all(loops);
    return { calls: ok, failed, seconds: 0, callsPerSec: 0, ...(firstError === undefined ? {} : { firstError }), clientCpu: 0, detail: options.detail };
  }

  const loops = Array.from({ length: options.concurrency }, loop);
  // One-second windows (shorter for a warm-up shorter than that) until the rate stops rising.
  const windowMs = Math.min(1000, Math.max(options.warmupMs, 100));
  const warm = await warmUntilSteady(async () => {
    const before = ok;
    const at = performance.now();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    return ((ok - before) * 1000) / (performance.now() - at);
  }, { minMs: options.warmupMs, maxMs: options.maxWarmupMs });
  const startOk = ok;
  const startAt = performance.now();
  const startCpu = process.cpuUsage();
  const gc = startGcWindow();
  // Tells the runner the measured window starts now, so it can sample the server's CPU over it.
  process.stdout.write(`${JSON.stringify({ phase: "measure" })}\n`);
  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  const calls = ok - startOk;
  const seconds = (performance.now() - startAt) / 1000;
  const cpu = process.cpuUsage(startCpu);
  const collections = gc.stop();
  stopping = true;
  await Promise.all(loops);
  return {
    calls,
    failed,
    seconds,
    callsPerSec: calls / seconds,
    ...(firstError === undefined ? {} : { firstError }),
    clientCpu: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100) / 100,
    ...(calls > 0 ? { clientUsPerCall: Math.round(((cpu.user + cpu.system) / calls) * 10) / 10 } : {}),
    warmupMs: warm.warmupMs,
    ...(warm.steady === undefined ? {} : { steady: warm.steady }),
    ...(calls > 0 ? { gcPer1000Calls: gcPerThousandCalls(collections, calls) } : {}),
    detail: options.detail,
  };
}

/** The flags every client driver takes (the runner passes all four). */
export const DRIVE_FLAGS = {
  port: { type: "string", valueName: "P", description: "port of the server under test (required)" },
  concurrency: { type: "string", valueName: "N", description: "calls in flight (required)" },
  "warmup-ms": { type: "string", valueName: "MS", description: "uncounted warm-up (required)" },
  "duration-ms": { type: "string", valueName: "MS", description: "measured time (required)" },
  "max-warmup-ms": { type: "string", valueName: "MS", defaultText: "the warm-up: a fixed warm-up", description: "warm up at least --warmup-ms, then until the calls/s stop rising, at most this long" },
  slices: { type: "boolean", description: "driven in slices from stdin ({\"slice\":MS} lines, by the paired measurement); the warm-up and duration flags are then unused" },
} as const satisfies Record<string, CommandFlag>;

/** Reads a driver's command line: {@link DRIVE_FLAGS} plus its own `flags`; --help lists them all. */
export function readDriveArgs<const F extends Readonly<Record<string, CommandFlag>> = {}>(
  spec: Omit<CommandSpec<F>, "flags"> & { readonly flags?: F },
): { port: number; concurrency: number; warmupMs: number; maxWarmupMs: number; durationMs: number; slices: boolean; values: CommandValues<typeof DRIVE_FLAGS & F> } {
  const { values } = readCommandLine({ ...spec, flags: { ...DRIVE_FLAGS, ...(spec.flags ?? ({} as F)) } });
  const get = (name: keyof typeof DRIVE_FLAGS) => {
    const n = numberSetting(`--${name}`, (values as Record<string, string | undefined>)[name], Number.NaN);
    if (Number.isNaN(n)) throw new Error(`--${name} is required (--help lists the flags)`);
    return n;
  };
  const warmupMs = get("warmup-ms");
  const maxWarmupMs = numberSetting("--max-warmup-ms", (values as Record<string, string | undefined>)["max-warmup-ms"], warmupMs, { min: 0 });
  const slices = (values as Record<string, unknown>).slices === true;
  return { port: get("port"), concurrency: get("concurrency"), warmupMs, maxWarmupMs, durationMs: get("duration-ms"), slices, values: values as CommandValues<typeof DRIVE_FLAGS & F> };
}

/** Prints the result line. */
export function report(result: DriveResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
