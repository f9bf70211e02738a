// Command-line options of `npm run bench`, parsed and validated in one place.

import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type CommandFlag, formatHelp } from "../../mesh/errors/index.ts";

/** Options of one benchmark run. */
export interface BenchOptions {
  /** Runs of every scenario (default 3; 1 with --quick). */
  readonly runs: number;
  /** Slice pairs of each target's paired measurement (default 16; 2 with --quick; 0 = none, ratios of medians). */
  readonly pairs: number;
  /** Measured seconds per run (default 5; 1 with --quick). */
  readonly durationS: number;
  /** Shortest uncounted warm-up before each measured run, in seconds (default 6; 0.5 with --quick). */
  readonly warmupS: number;
  /** Longest warm-up: after `warmupS` it goes on until the rate stops rising (default 30; = warmupS with --quick). */
  readonly maxWarmupS: number;
  /** Scenario ids or group names to run; undefined = all. */
  readonly only: readonly string[] | undefined;
  /** True with --quick (CI: catches crashes, does not judge speed). */
  readonly quick: boolean;
  /** Directory the results are written to (default bench/results). */
  readonly outDir: string;
  /** With --wait-idle S: before each run, wait up to S seconds for both benchmark cores to be idle. 0 = off. */
  readonly waitIdleS: number;
  /** True with --profile: servers and client drivers run with `node --cpu-prof` (slower; for diagnosis). */
  readonly profile: boolean;
  /** With --render FILE: re-render FILE's markdown and chart (no benchmark runs). */
  readonly render: string | undefined;
  /** True with --help. */
  readonly help: boolean;
}

/** Every flag of `npm run bench`; bench:telemetry takes the same minus --profile and --render. */
export const BENCH_FLAGS = {
  quick: { type: "boolean", description: "1 run, 1 s measured, 0.5 s warm-up, 2 pairs per target: about two minutes (CI)" },
  only: { type: "string", valueName: "a,b", defaultText: "all", description: "scenario ids or groups (grpc, http1, client, mtls), e.g. --only grpc/weft,grpc/raw-http2" },
  runs: { type: "string", valueName: "N", defaultText: "3, quick 1", description: "runs per scenario (the tables)" },
  pairs: { type: "string", valueName: "N", defaultText: "16, quick 2", description: "one-second slice pairs per target, both sides warm, load alternating (the verdicts); 0 = judge on the ratio of medians" },
  duration: { type: "string", valueName: "S", defaultText: "5, quick 1", description: "measured seconds per run" },
  warmup: { type: "string", valueName: "S", defaultText: "6, quick 0.5", description: "shortest warm-up before each run, in seconds; then it goes on until the rate stops rising" },
  "max-warmup": { type: "string", valueName: "S", defaultText: "30, quick: the warm-up", description: "longest warm-up in seconds (V8 keeps optimising for ~10 s); equal to --warmup for a fixed warm-up" },
  out: { type: "string", valueName: "DIR", defaultText: "bench/results; with --quick a temporary folder", description: "where to write results" },
  "wait-idle": { type: "string", valueName: "S", defaultText: "0: do not wait", description: "before each run, wait up to S seconds until cores 0 and 1 are idle (< 20% busy)" },
  profile: { type: "boolean", description: "CPU-profile every server and client (node --cpu-prof) and summarize the hot functions; numbers are lower, for diagnosis only" },
  render: { type: "string", valueName: "FILE", description: "re-judge and re-render a results JSON (markdown, chart) without running anything" },
} as const satisfies Record<string, CommandFlag>;

/** The --help text of `npm run bench`. */
export const USAGE = formatHelp({
  usage: "npm run bench -- [flags]   (node bench/run.ts)",
  summary: "Every engine and client benchmark side by side, every response verified, Weft's ratios against its peers\n(bench/README.md).",
  flags: BENCH_FLAGS,
  env: [{ name: "PASS_INTERCEPTORS", defaultText: "0", description: "pass-through interceptors on the Weft host server (interceptor cost)" }],
});

const DEFAULT_OUT = fileURLToPath(new URL("../results", import.meta.url));

function positive(name: string, value: string | undefined, integer: boolean): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} must be a positive ${integer ? "integer" : "number"}, got ${String(value)}`);
  }
  return n;
}

/** Parses argv (without node and script) with `flags` (default all of BENCH_FLAGS); throws with the flag's name on bad input. */
export function parseOptions(argv: readonly string[], flags: Readonly<Record<string, CommandFlag>> = BENCH_FLAGS): BenchOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options: { ...flags, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: false }));
  } catch (err) {
    const unknown = /^Unknown option '([^']+)'/.exec((err as Error).message)?.[1];
    throw new Error(unknown !== undefined ? `unknown option ${unknown} (--help lists the flags)` : (err as Error).message.split("\n")[0]);
  }
  const text = (name: string) => values[name] as string | undefined;
  const zeroOr = (name: string, integer: boolean) => (text(name) === "0" ? 0 : text(name) === undefined ? undefined : positive(`--${name}`, text(name), integer));
  const quick = values.quick === true;
  const help = values.help === true;
  const profile = values.profile === true;
  const waitIdleS = zeroOr("wait-idle", false) ?? 0;
  const render = text("render");
  const runs = text("runs") === undefined ? undefined : positive("--runs", text("runs"), true);
  const pairs = zeroOr("pairs", true);
  const durationS = text("duration") === undefined ? undefined : positive("--duration", text("duration"), false);
  const warmupS = zeroOr("warmup", false);
  const maxWarmupS = zeroOr("max-warmup", false);
  const outDir = text("out");
  let only: string[] | undefined;
  if (text("only") !== undefined) {
    only = text("only")!.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
    if (only.length === 0) throw new Error("--only needs at least one scenario");
  }
  return {
    quick,
    help,
    profile,
    waitIdleS,
    render,
    only,
    // Only a full run updates the committed bench/results/latest.*; a quick one is a smoke run.
    outDir: outDir ?? (quick ? join(tmpdir(), `weft-bench-quick-${process.pid}`) : DEFAULT_OUT),
    runs: runs ?? (quick ? 1 : 3),
    pairs: pairs ?? (quick ? 2 : 16),
    durationS: durationS ?? (quick ? 1 : 5),
    warmupS: warmupS ?? (quick ? 0.5 : 6),
    maxWarmupS: maxWarmupS ?? (quick ? (warmupS ?? 0.5) : 30),
  };
}
