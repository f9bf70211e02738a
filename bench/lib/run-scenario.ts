// One run of one scenario: start the server on its core, check a decoded call, warm up, measure with
// the scenario's load generator (or client driver) on the other core, check again, stop the server.
// Any verification problem or crash makes the run "failed", and a failed run carries no rate.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AUTOCANNON_FLAGS, checkAutocannon, runAutocannon } from "./autocannon.ts";
import { BENCH_PATH, grpcResponseFrame, jsonRequestBody, jsonResponseBody } from "./bench-request.ts";
import { checkH2load, GRPC_HEADERS, H2LOAD_FLAGS, h2loadAvailable, H2LOAD_PATH, runH2load } from "./h2load.ts";
import { SERVER_V8_FLAGS } from "../../mesh/host/index.ts";
import { CpuWindow, LOAD_CORE, pinned, runToCompletion, SERVER_CORE, startChild, type StartedServer } from "./processes.ts";
import { summarizeProfile, type ProfileSummary } from "./profile-summary.ts";
import type { RunResult } from "./results.ts";
import type { Scenario } from "./scenarios.ts";
import { checkConnectJsonCall, checkGrpcCall } from "./verify.ts";
import { BENCH_CLIENT, BENCH_MTLS_ENV, benchPem, ensureBenchCredentials } from "./mtls.ts";
import { probeCores } from "./core-probe.ts";
import { warmUntilSteady, type WarmUp } from "./steady-state.ts";

/** In-flight calls of the client scenarios. */
export const CLIENT_CONCURRENCY = 64;

/** Settings shared by all runs. */
export interface RunSettings {
  readonly durationS: number;
  /** Shortest warm-up; then the warm-up goes on until the rate stops rising, up to `maxWarmupS`. */
  readonly warmupS: number;
  readonly maxWarmupS: number;
  /** File holding the gRPC request frame for h2load. */
  readonly grpcBodyFile: string;
  /** When set, servers and client drivers are CPU-profiled into this directory. */
  readonly profileDir?: string;
}

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Node flags of every benchmark process, peers and Weft alike: the V8 settings Weft's host runs with
 * (mesh/host/gc-tuning.ts), so no server is judged with a GC setting another one does not get; then
 * `node --cpu-prof` flags writing `<dir>/<name>.cpuprofile` when profiling.
 */
export function childNodeFlags(dir: string | undefined, name: string): string[] {
  const prof = dir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-name", `${name}.cpuprofile`];
  return [...SERVER_V8_FLAGS, ...prof];
}

/** Summarizes a profile written by a child that has exited, or undefined if there is none. */
function readProfile(dir: string | undefined, name: string): ProfileSummary | undefined {
  if (dir === undefined) return undefined;
  const file = join(dir, `${name}.cpuprofile`);
  if (!existsSync(file)) return undefined;
  try {
    return summarizeProfile(file, REPO_ROOT);
  } catch {
    return undefined;
  }
}

/** The generator description recorded with a scenario. */
export function generatorOf(scenario: Scenario, settings: RunSettings): string {
  if (scenario.client !== undefined) {
    return `client driver ${scenario.client.replace(/.*\/bench\//, "bench/")} (${CLIENT_CONCURRENCY} calls in flight, every response checked)`;
  }
  if (scenario.group === "grpc") {
    const headers = GRPC_HEADERS.map((h) => (h.startsWith("-") ? h : `'${h}'`)).join(" ");
    return `${H2LOAD_PATH} ${H2LOAD_FLAGS.join(" ")} -n <requests for ~${settings.durationS} s at the warm-up's rate> -d <UnaryCall frame> ${headers}`;
  }
  return `autocannon ${AUTOCANNON_FLAGS.join(" ")} -d ${settings.durationS} -m POST -H content-type=application/json -H connect-protocol-version=1 -b <request JSON> -E <expected response JSON>`;
}

/** Runs `scenario` once. Never throws: problems end up in the result. */
export async function runScenarioOnce(scenario: Scenario, run: number, settings: RunSettings): Promise<RunResult> {
  const result = await runUnprofiled(scenario, run, settings);
  if (settings.profileDir === undefined || result.status === "unavailable") return result;
  const base = `${scenario.id.replace("/", "-")}-run${run}`;
  const server = readProfile(settings.profileDir, `${base}-server`);
  const client = readProfile(settings.profileDir, `${base}-client`);
  return { ...result, profiles: { ...(server ? { server } : {}), ...(client ? { client } : {}) } };
}

async function runUnprofiled(scenario: Scenario, run: number, settings: RunSettings): Promise<RunResult> {
  if (scenario.group === "grpc" && !h2loadAvailable()) {
    return { run, status: "failed", problems: [`h2load not found at ${H2LOAD_PATH} (Debian package nghttp2-client)`] };
  }
  const base = `${scenario.id.replace("/", "-")}-run${run}`;
  let server: StartedServer | undefined;
  try {
    const mtlsDir = scenario.env?.[BENCH_MTLS_ENV];
    if (mtlsDir !== undefined) await ensureBenchCredentials(mtlsDir);
    const started = await startChild(scenario.server, ["--mode", scenario.mode], SERVER_CORE, childNodeFlags(settings.profileDir, `${base}-server`), scenario.env);
    if (started.kind === "unavailable") return { run, status: "unavailable", problems: [], reason: started.reason };
    server = started;
    const tls = mtlsDir === undefined ? undefined : benchPem(mtlsDir, BENCH_CLIENT);
    const check = scenario.mode === "h2" ? (port: number) => checkGrpcCall(port, tls) : checkConnectJsonCall;
    const before = await check(server.port);
    if (before.length > 0) return failed(run, server, before.map((p) => `check before load: ${p}`));

    // The cores' speed just before and just after the measured run (a slow spell marks the run).
    const probeBefore = await probeCores();
    const measured =
      scenario.client !== undefined
        ? await measureClient(scenario.client, server, settings, childNodeFlags(settings.profileDir, `${base}-client`), scenario.env)
        : scenario.group === "grpc"
          ? await measureH2load(server, settings)
          : await measureAutocannon(server, settings);

    const probeAfter = await probeCores();
    const problems = [...measured.problems];
    if (server.exited()) problems.push(`server exited during the load: ${server.stderrTail().slice(-500)}`);
    else {
      const after = await check(server.port);
      problems.push(...after.map((p) => `check after load: ${p}`));
    }
    if (problems.length > 0) return { ...failed(run, server, problems), counts: measured.counts };
    return {
      run,
      status: "ok",
      rate: measured.rate,
      problems: [],
      serverDetail: server.detail,
      ...(measured.clientDetail === undefined ? {} : { clientDetail: measured.clientDetail }),
      cpu: measured.cpu,
      ...efficiencyOf(scenario, measured),
      ...(measured.latencyMeanMs === undefined ? {} : { latencyMeanMs: measured.latencyMeanMs }),
      ...(measured.latencyP99Ms === undefined ? {} : { latencyP99Ms: measured.latencyP99Ms }),
      counts: measured.counts,
      probe: { before: probeBefore, after: probeAfter },
      ...perCall(measured),
    };
  } catch (error) {
    if (error instanceof Unavailable) return { run, status: "unavailable", problems: [], reason: error.message };
    return { run, status: "failed", problems: [String((error as Error).message ?? error)], ...(server ? { serverDetail: server.detail } : {}) };
  } finally {
    await server?.stop();
  }
}

/** Smallest CPU share a per-CPU-second figure is computed from (below it the share is mostly noise). */
const MIN_CPU_FOR_EFFICIENCY = 0.05;

/**
 * Calls per CPU-second of the side being judged: the server in server scenarios, the client in client
 * scenarios. Other work on the machine steals time but not CPU-seconds, so this moves much less with
 * noise than the rate does.
 */
function efficiencyOf(scenario: Scenario, measured: Measured): { efficiency?: number } {
  const share = scenario.client !== undefined ? measured.cpu.load : measured.cpu.server;
  if (share === undefined || share < MIN_CPU_FOR_EFFICIENCY) return {};
  return { efficiency: Math.round(measured.rate / share) };
}

/** CPU microseconds per call of each side, the warm-up it took, and the client's GC per 1,000 calls. */
function perCall(measured: Measured): Pick<RunResult, "usPerCall" | "warmupMs" | "steady" | "gcPer1000Calls"> {
  const us = (share: number | undefined) => (share === undefined || measured.rate <= 0 ? undefined : Math.round((share / measured.rate) * 1e6 * 10) / 10);
  const server = us(measured.cpu.server);
  const load = us(measured.cpu.load);
  return {
    ...(server === undefined && load === undefined ? {} : { usPerCall: { ...(server === undefined ? {} : { server }), ...(load === undefined ? {} : { load }) } }),
    ...(measured.warmUp === undefined ? {} : { warmupMs: measured.warmUp.warmupMs, ...(measured.warmUp.steady === undefined ? {} : { steady: measured.warmUp.steady }) }),
    ...(measured.gcPer1000Calls === undefined ? {} : { gcPer1000Calls: measured.gcPer1000Calls }),
  };
}

function failed(run: number, server: StartedServer, problems: string[]): RunResult {
  return { run, status: "failed", problems, serverDetail: server.detail };
}

interface Measured {
  readonly rate: number;
  readonly problems: string[];
  readonly cpu: NonNullable<RunResult["cpu"]>;
  readonly counts: Record<string, number>;
  readonly latencyMeanMs?: number;
  readonly latencyP99Ms?: number;
  readonly clientDetail?: string;
  readonly warmUp?: Pick<WarmUp, "warmupMs" | "steady">;
  readonly gcPer1000Calls?: RunResult["gcPer1000Calls"];
}

/** Measures server and generator CPU while a generator runs (from spawn to `stop()`). */
function cpuDuring(serverPid: number): { onSpawn: (pid: number | undefined) => void; stop: () => Record<string, number | undefined> } {
  let window: CpuWindow | undefined;
  return {
    onSpawn: (pid) => {
      window = new CpuWindow({ server: serverPid, load: pid });
      window.begin();
    },
    stop: () => {
      window?.end();
      return window?.result ?? {};
    },
  };
}

/** Shortest timed run used to size the measured run when there is no warm-up. */
const PROBE_S = 0.3;

async function measureH2load(server: StartedServer, settings: RunSettings): Promise<Measured> {
  const url = `http://127.0.0.1:${server.port}${BENCH_PATH}`;
  // Timed one-second warm-up runs until the rate stops rising (or a short probe without warm-up); the
  // last one's rate sizes the measured run, which has a fixed count.
  let warmProblems: string[] = [];
  let lastRate = 0;
  const warmUp = await warmUntilSteady(async () => {
    if (warmProblems.length > 0) return lastRate;
    const warm = await runH2load(url, settings.grpcBodyFile, { seconds: settings.warmupS > 0 ? Math.min(1, settings.warmupS) : PROBE_S });
    warmProblems = checkH2load(warm, grpcResponseFrame.length, false);
    lastRate = warm.reqPerSec;
    return lastRate;
  }, { minMs: settings.warmupS * 1000, maxMs: settings.maxWarmupS * 1000 });
  if (warmProblems.length > 0) return { rate: 0, problems: warmProblems.map((p) => `warm-up: ${p}`), cpu: {}, counts: {} };
  const requests = Math.max(H2LOAD_MIN_REQUESTS, Math.round(lastRate * settings.durationS));
  const cpu = cpuDuring(server.pid);
  let report;
  try {
    report = await runH2load(url, settings.grpcBodyFile, { requests }, cpu.onSpawn);
  } finally {
    cpu.stop();
  }
  return {
    rate: report.reqPerSec,
    problems: checkH2load(report, grpcResponseFrame.length, true),
    cpu: cpu.stop(),
    counts: { requests, seconds: report.seconds, done: report.done, succeeded: report.succeeded, failed: report.failed, errored: report.errored, timeout: report.timeout, status2xx: report.status2xx, dataBytes: report.dataBytes },
    warmUp,
    ...(report.meanLatencyMs === undefined ? {} : { latencyMeanMs: report.meanLatencyMs }),
  };
}

/** Fewest requests of a measured h2load run (a few per stream, even for a very slow server). */
const H2LOAD_MIN_REQUESTS = 640;

async function measureAutocannon(server: StartedServer, settings: RunSettings): Promise<Measured> {
  const url = `http://127.0.0.1:${server.port}${BENCH_PATH}`;
  let warmUp: WarmUp | undefined;
  if (settings.warmupS > 0) {
    // One-second verified runs until the rate stops rising.
    let problems: string[] = [];
    warmUp = await warmUntilSteady(async () => {
      if (problems.length > 0) return 0;
      const warm = await runAutocannon(url, jsonRequestBody, jsonResponseBody, Math.min(1, settings.warmupS));
      problems = checkAutocannon(warm);
      return warm.reqPerSec;
    }, { minMs: settings.warmupS * 1000, maxMs: settings.maxWarmupS * 1000 });
    if (problems.length > 0) return { rate: 0, problems: problems.map((p) => `warm-up: ${p}`), cpu: {}, counts: {} };
  }
  const cpu = cpuDuring(server.pid);
  let report;
  try {
    report = await runAutocannon(url, jsonRequestBody, jsonResponseBody, settings.durationS, cpu.onSpawn);
  } finally {
    cpu.stop();
  }
  return {
    rate: report.reqPerSec,
    problems: checkAutocannon(report),
    cpu: cpu.stop(),
    counts: { total: report.total, status2xx: report.status2xx, non2xx: report.non2xx, mismatches: report.mismatches, errors: report.errors, timeouts: report.timeouts },
    ...(report.meanLatencyMs === undefined ? {} : { latencyMeanMs: report.meanLatencyMs }),
    ...(report.p99LatencyMs === undefined ? {} : { latencyP99Ms: report.p99LatencyMs }),
    ...(warmUp === undefined ? {} : { warmUp }),
  };
}

async function measureClient(
  script: string,
  server: StartedServer,
  settings: RunSettings,
  nodeFlags: readonly string[],
  env: Readonly<Record<string, string>> | undefined,
): Promise<Measured> {
  const window = new CpuWindow({ server: server.pid });
  let result: { calls?: number; failed?: number; callsPerSec?: number; firstError?: string; clientCpu?: number; detail?: string; unavailable?: string; warmupMs?: number; steady?: boolean; gcPer1000Calls?: RunResult["gcPer1000Calls"] } | undefined;
  const cmd = pinned(LOAD_CORE, process.execPath, [
    ...nodeFlags,
    script,
    "--port", String(server.port),
    "--concurrency", String(CLIENT_CONCURRENCY),
    "--warmup-ms", String(Math.round(settings.warmupS * 1000)),
    "--duration-ms", String(Math.round(settings.durationS * 1000)),
    "--max-warmup-ms", String(Math.round(settings.maxWarmupS * 1000)),
  ]);
  const out = await runToCompletion(cmd.command, cmd.args, {
    env,
    timeoutMs: (Math.max(settings.warmupS, settings.maxWarmupS) + settings.durationS) * 1000 + 30_000,
    onLine: (line) => {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (parsed.phase === "measure") window.begin();
      else {
        window.end();
        result = parsed;
      }
    },
  });
  if (result?.unavailable !== undefined) throw new Unavailable(result.unavailable);
  if (out.code !== 0 || result === undefined || typeof result.callsPerSec !== "number") {
    return { rate: 0, problems: [`client driver exited with ${out.signal ?? out.code}: ${out.stderr.trim().slice(-800)}`], cpu: {}, counts: {} };
  }
  const problems: string[] = [];
  if ((result.failed ?? 0) > 0) problems.push(`${result.failed} calls failed or answered wrongly (first: ${result.firstError})`);
  if ((result.calls ?? 0) === 0) problems.push("no call completed in the measured window");
  return {
    rate: result.callsPerSec,
    problems,
    cpu: { server: window.result.server, load: result.clientCpu, serverCore: window.result.serverCore, loadCore: window.result.loadCore },
    counts: { calls: result.calls ?? 0, failed: result.failed ?? 0 },
    ...(result.detail === undefined ? {} : { clientDetail: result.detail }),
    ...(result.warmupMs === undefined ? {} : { warmUp: { warmupMs: result.warmupMs, steady: result.steady } }),
    ...(result.gcPer1000Calls === undefined ? {} : { gcPer1000Calls: result.gcPer1000Calls }),
  };
}

/** Thrown when a client driver reports that its implementation does not exist yet. */
export class Unavailable extends Error {}
