// Runs the selected scenarios side by side (interleaved, so drift on the machine spreads over all of
// them), judges the targets on the same run, and writes the JSON, markdown and SVG results.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { AUTOCANNON_FLAGS } from "./autocannon.ts";
import { BENCH_PATH, BENCH_PAYLOAD_BYTES, grpcRequestFrame, grpcResponseFrame, jsonRequestBody, jsonResponseBody } from "./bench-request.ts";
import { H2LOAD_FLAGS, h2loadAvailable, h2loadVersion } from "./h2load.ts";
import { waitForIdleCores } from "./processes.ts";
import { machineInfo, revision, type MachineInfo, type Revision } from "./machine.ts";
import type { BenchOptions } from "./options.ts";
import { packageVersion } from "./package-version.ts";
import { renderMarkdown } from "./report-md.ts";
import { renderSvg } from "./report-svg.ts";
import { judgeTarget, markSlowCores, summarizeScenario, type ScenarioResult, type TargetResult } from "./results.ts";
import { CLIENT_CONCURRENCY, generatorOf, runScenarioOnce, type RunSettings } from "./run-scenario.ts";
import { selectScenarios, TARGETS } from "./scenarios.ts";
import type { PairedMeasurement } from "./paired-slices.ts";
import { measureTargetPaired } from "./run-paired.ts";

/** Length of one slice of a target's paired measurement. */
const PAIR_SLICE_MS = 1000;

/** Everything written to bench/results/<timestamp>.json. */
export interface BenchResults {
  readonly schema: 1;
  readonly startedAt: string;
  finishedAt?: string;
  readonly command: string;
  readonly options: Omit<BenchOptions, "help" | "outDir" | "render">;
  readonly machine: MachineInfo;
  /** The commit measured, and any uncommitted files under mesh/, bench/ or gen/. */
  readonly revision: Revision;
  readonly generators: { readonly h2load: string; readonly autocannon: string; readonly client: string };
  readonly request: { readonly path: string; readonly payloadBytes: number; readonly grpcRequestFrameBytes: number; readonly grpcResponseFrameBytes: number; readonly json: string; readonly jsonResponse: string };
  readonly scenarios: ScenarioResult[];
  /** Each target's paired measurement (run-paired.ts), by target id: what the verdicts use. */
  readonly paired?: Record<string, PairedMeasurement>;
  targets: TargetResult[];
  readonly notes: readonly string[];
}

/** Paths of the files a run wrote. */
export interface WrittenResults {
  readonly json: string;
  readonly markdown: string;
  readonly latestMarkdown: string;
  readonly svg: string;
}

const NOTES: readonly string[] = [
  "All servers serve weft.testing.v1.TestService/UnaryCall for the same request (16-byte payload in, 16-byte payload asked back); every server runs in its own child process pinned to the server core (when taskset exists), started fresh for every run. Every server and client process, peers and Weft alike, runs with the V8 flags Weft's host sets for itself (--no-allocation-site-pretenuring, see mesh/host/gc-tuning.ts), so no side gets a GC setting the others lack.",
  "The two ceilings (raw node:http2, raw node:http) check the request framing (gRPC frame header / JSON.parse) and answer a fixed, byte-identical response without a protobuf codec: nothing on that transport can be faster.",
  "Verification: a decoded UnaryCall over the scenario's protocol before and after the load; h2load: every request done, succeeded, 2xx, and exactly one 25-byte response frame of DATA per completed call (a gRPC error is trailers-only, so it shows up as missing bytes); autocannon: every response 2xx with the exact expected body (--expectBody), no errors or timeouts; client drivers check every decoded response. A run with any problem is marked failed and has no number.",
  "Warm-up: the same generator (or client) runs in one-second windows, verified but not counted, for at least the minimum warm-up and then until the rate stops rising (the mean of the last two windows no more than 3% above the two before), up to the maximum: V8 keeps optimising for ~10 s, and a shorter fixed warm-up measures the ramp. The report gives the median warm-up each scenario took.",
  "Core speed probe: a fixed piece of allocation and JSON work (bench/lib/core-probe.ts) is timed on the server core and on the load core just before and just after every measured run. This machine's virtual CPUs have memory-bound slow spells (the same work takes up to ~1.9x as long, for seconds to tens of seconds) that CPU accounting does not show; a run with a probe more than 25% slower than the fastest probe of the whole benchmark run is left out of the medians and counted in the report.",
  "CPU microseconds per call (server, and generator or client) are CPU-seconds over the window divided by the calls: like calls per CPU-second they move far less with noise than throughput. Client scenarios also report the client's garbage collections per 1,000 calls (V8 gc performance entries over the window).",
  "CPU shares are sampled from /proc over the measured window (100% = one core busy): a server near 100% is the bottleneck; a load generator near 100% (†) may be the limit instead of the server. 'Others on cores' is how busy the server's and the load's cores were beyond the benchmark's own processes (other processes, kernel work): a run where either is ≥ 10% is not clean; a row where most runs are not clean is marked ‡ (depressed by noise), and a target compared on such a row is marked inconclusive.",
  "Per CPU-second figures (calls / CPU share of the judged side: the server, or the client in the client table) move far less with noise than throughput does, since other work steals time but not CPU-seconds; they are shown beside the verdict, which stays on throughput.",
  "Other work on the machine shows in the load average; medians over interleaved runs damp it, ranges show it.",
];

function commandLine(argv: readonly string[]): string {
  const viaNpm = process.env.npm_lifecycle_event === "bench";
  return viaNpm ? `npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}` : `node bench/run.ts ${argv.join(" ")}`.trim();
}

/** Runs the benchmarks. `log` receives progress lines. */
export async function runBench(options: BenchOptions, argv: readonly string[], log: (line: string) => void): Promise<BenchResults> {
  const scenarios = selectScenarios(options.only);
  const tmp = mkdtempSync(join(os.tmpdir(), "weft-bench-"));
  const grpcBodyFile = join(tmp, "unary-call.grpc");
  writeFileSync(grpcBodyFile, grpcRequestFrame);
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const profileDir = options.profile ? join(options.outDir, "profiles", startedAt.replace(/:/g, "-")) : undefined;
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const settings: RunSettings = { durationS: options.durationS, warmupS: options.warmupS, maxWarmupS: options.maxWarmupS, grpcBodyFile, ...(profileDir ? { profileDir } : {}) };
  const results: BenchResults = {
    schema: 1,
    startedAt,
    command: commandLine(argv),
    options: { runs: options.runs, pairs: options.pairs, durationS: options.durationS, warmupS: options.warmupS, maxWarmupS: options.maxWarmupS, only: options.only, quick: options.quick, profile: options.profile, waitIdleS: options.waitIdleS },
    machine: machineInfo(),
    revision: revision(),
    generators: {
      h2load: h2loadAvailable() ? `${await h2loadVersion()}, flags ${H2LOAD_FLAGS.join(" ")} (64 streams), POST with content-type application/grpc, te trailers` : "h2load not installed",
      autocannon: `autocannon ${packageVersion("autocannon")}, flags ${AUTOCANNON_FLAGS.join(" ")}, POST Connect JSON with --expectBody`,
      client: `bench/clients/*.ts, ${CLIENT_CONCURRENCY} calls in flight, one connection per client`,
    },
    request: {
      path: BENCH_PATH,
      payloadBytes: BENCH_PAYLOAD_BYTES,
      grpcRequestFrameBytes: grpcRequestFrame.length,
      grpcResponseFrameBytes: grpcResponseFrame.length,
      json: jsonRequestBody,
      jsonResponse: jsonResponseBody,
    },
    scenarios: scenarios.map((s) => ({ id: s.id, group: s.group, label: s.label, generator: generatorOf(s, settings), runs: [] })),
    paired: {},
    targets: [],
    notes: NOTES,
  };
  try {
    for (let run = 1; run <= options.runs; run++) {
      // Rotate the order every run so no scenario always runs first (or right after a heavy one).
      const order = scenarios.map((_, i) => scenarios[(i + run - 1) % scenarios.length]);
      for (const scenario of order) {
        const idleWait = options.waitIdleS > 0 ? await waitForIdleCores(options.waitIdleS * 1000) : undefined;
        const result = await runScenarioOnce(scenario, run, settings);
        if (idleWait !== undefined) result.idleWait = idleWait;
        const target = results.scenarios.find((s) => s.id === scenario.id) as ScenarioResult;
        target.runs.push(result);
        log(
          `run ${run}/${options.runs} ${scenario.id.padEnd(20)} ` +
            (result.status === "ok"
              ? `${Math.round(result.rate as number).toLocaleString("en-US").padStart(8)} /s  cpu server ${pct(result.cpu?.server)} load ${pct(result.cpu?.load)}, cores ${pct(result.cpu?.serverCore)} / ${pct(result.cpu?.loadCore)} busy`
              : result.status === "unavailable"
                ? `not available: ${result.reason}`
                : `FAILED: ${result.problems.join("; ")}`),
        );
      }
    }
    // The verdicts: each target's two sides warm at once, the load alternating in one-second slices.
    for (const target of options.pairs > 0 ? TARGETS : []) {
      const both = [target.subject, target.baseline].map((id) => results.scenarios.find((s) => s.id === id));
      if (both.some((s) => s === undefined || s.runs.every((r) => r.status === "unavailable"))) continue;
      const measured = await measureTargetPaired(target, scenarios, settings, { pairs: options.pairs, sliceMs: PAIR_SLICE_MS });
      results.paired![target.id] = measured;
      log(
        `paired ${target.id.padEnd(18)} ` +
          (measured.ratio !== undefined
            ? `${measured.ratio.toFixed(3)}x (pairs ${Math.min(...measured.pairRatios).toFixed(2)}-${Math.max(...measured.pairRatios).toFixed(2)}), ${measured.subject?.rate.toLocaleString("en-US")} vs ${measured.baseline?.rate.toLocaleString("en-US")} /s, warm-up ${(measured.warmupMs / 1000).toFixed(1)} s`
            : `FAILED: ${measured.problems.join("; ")}`),
      );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  judge(results);
  results.machine.loadAverageEnd = Math.round(os.loadavg()[0] * 100) / 100;
  results.finishedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return results;
}

/** (Re)computes every scenario's summary and the target verdicts from the runs. */
export function judge(results: BenchResults): void {
  markSlowCores(results.scenarios);
  for (const s of results.scenarios) {
    s.runs.sort((a, b) => a.run - b.run);
    s.summary = summarizeScenario(s);
  }
  results.targets = TARGETS.map((t) => judgeTarget(t, results.scenarios, results.paired?.[t.id])).filter((t) => t.note !== "not part of this run (--only)");
}

function pct(value: number | undefined): string {
  return value === undefined ? "?" : `${Math.round(value * 100)}%`;
}

/** Writes <timestamp>.json, .md, .svg and latest.md / latest.svg into `outDir`. */
export function writeResults(results: BenchResults, outDir: string): WrittenResults {
  mkdirSync(outDir, { recursive: true });
  const stamp = results.startedAt.replace(/:/g, "-");
  const json = join(outDir, `${stamp}.json`);
  const markdown = join(outDir, `${stamp}.md`);
  const svg = join(outDir, `${stamp}.svg`);
  const latestMarkdown = join(outDir, "latest.md");
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(svg, renderSvg(results));
  writeFileSync(join(outDir, "latest.svg"), renderSvg(results));
  writeFileSync(markdown, renderMarkdown(results, `${stamp}.svg`));
  writeFileSync(latestMarkdown, renderMarkdown(results, "latest.svg"));
  return { json, markdown, latestMarkdown, svg };
}
