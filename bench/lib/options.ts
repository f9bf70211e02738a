// Command-line options of `npm run bench`, parsed and validated in one place.

import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Options of one benchmark run. */
export interface BenchOptions {
  /** Runs of every scenario (default 3; 1 with --quick). */
  readonly runs: number;
  /** Measured seconds per run (default 5; 1 with --quick). */
  readonly durationS: number;
  /** Uncounted warm-up seconds before each measured run (default 2; 0.5 with --quick). */
  readonly warmupS: number;
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

/** Usage text. */
export const USAGE = `Usage: npm run bench -- [options]

  --quick            1 run, 1 s measured, 0.5 s warm-up: the whole run well under a minute (CI)
  --only a,b         scenario ids or groups (grpc, http1, client, mtls), e.g. --only grpc/weft,grpc/raw-http2
  --runs N           runs per scenario (default 3, quick 1)
  --duration S       measured seconds per run (default 5, quick 1)
  --warmup S         warm-up seconds before each run (default 2, quick 0.5)
  --out DIR          where to write results (default bench/results; with --quick a temporary folder)
  --wait-idle S      before each run, wait up to S seconds until cores 0 and 1 are idle (< 20% busy);
                     for shared machines (default 0: do not wait)
  --profile          CPU-profile every server and client (node --cpu-prof) and summarize the hot
                     functions in the report; profiled numbers are lower, use for diagnosis only
  --render FILE      re-judge and re-render a results JSON (markdown, chart) without running anything
  --help             this text`;

const DEFAULT_OUT = fileURLToPath(new URL("../results", import.meta.url));

function positive(name: string, value: string | undefined, integer: boolean): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} must be a positive ${integer ? "integer" : "number"}, got ${String(value)}`);
  }
  return n;
}

/** Parses argv (without node and script); throws with the flag's name on bad input. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  let quick = false;
  let help = false;
  let profile = false;
  let waitIdleS = 0;
  let render: string | undefined;
  let runs: number | undefined;
  let durationS: number | undefined;
  let warmupS: number | undefined;
  let only: string[] | undefined;
  let outDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--quick":
        quick = true;
        break;
      case "--wait-idle": {
        const v = value();
        waitIdleS = v === "0" ? 0 : positive("--wait-idle", v, false);
        break;
      }
      case "--render":
        render = value();
        break;
      case "--profile":
        profile = true;
        break;
      case "--help":
      case "-h":
        help = true;
        break;
      case "--runs":
        runs = positive("--runs", value(), true);
        break;
      case "--duration":
        durationS = positive("--duration", value(), false);
        break;
      case "--warmup": {
        const v = value();
        warmupS = v === "0" ? 0 : positive("--warmup", v, false);
        break;
      }
      case "--only":
        only = value().split(",").map((s) => s.trim()).filter((s) => s.length > 0);
        if (only.length === 0) throw new Error("--only needs at least one scenario");
        break;
      case "--out":
        outDir = value();
        break;
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
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
    durationS: durationS ?? (quick ? 1 : 5),
    warmupS: warmupS ?? (quick ? 0.5 : 2),
  };
}
