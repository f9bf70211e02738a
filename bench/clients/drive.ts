// The client-side load loop shared by every client driver: `concurrency` calls in flight, each
// response checked, a warm-up that is not counted, then a measured window. Prints a
// `{"phase":"measure"}` line when the measured window starts, then the result line.

import { type CommandFlag, type CommandSpec, type CommandValues, numberSetting, readCommandLine } from "../../mesh/errors/index.ts";
import { gcPerThousandCalls, startGcWindow, type GcCounts } from "../lib/gc-window.ts";
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
}

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

  const loop = async () => {
    while (!stopping) {
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
} as const satisfies Record<string, CommandFlag>;

/** Reads a driver's command line: {@link DRIVE_FLAGS} plus its own `flags`; --help lists them all. */
export function readDriveArgs<const F extends Readonly<Record<string, CommandFlag>> = {}>(
  spec: Omit<CommandSpec<F>, "flags"> & { readonly flags?: F },
): { port: number; concurrency: number; warmupMs: number; maxWarmupMs: number; durationMs: number; values: CommandValues<typeof DRIVE_FLAGS & F> } {
  const { values } = readCommandLine({ ...spec, flags: { ...DRIVE_FLAGS, ...(spec.flags ?? ({} as F)) } });
  const get = (name: keyof typeof DRIVE_FLAGS) => {
    const n = numberSetting(`--${name}`, (values as Record<string, string | undefined>)[name], Number.NaN);
    if (Number.isNaN(n)) throw new Error(`--${name} is required (--help lists the flags)`);
    return n;
  };
  const warmupMs = get("warmup-ms");
  const maxWarmupMs = numberSetting("--max-warmup-ms", (values as Record<string, string | undefined>)["max-warmup-ms"], warmupMs, { min: 0 });
  return { port: get("port"), concurrency: get("concurrency"), warmupMs, maxWarmupMs, durationMs: get("duration-ms"), values: values as CommandValues<typeof DRIVE_FLAGS & F> };
}

/** Prints the result line. */
export function report(result: DriveResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
