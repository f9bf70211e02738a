// `npm run bench:telemetry`: what telemetry costs. The Weft host (under h2load) and the mesh client
// (calling a Weft host with the same telemetry), each with telemetry off, metrics only,
// metrics + tracing at 1%, and metrics + tracing at 100% exporting to a live Jaeger; beside them the peer
// a user would pick, grpc-js with @opentelemetry/instrumentation-grpc tracing every call. Same harness
// as `npm run bench` (bench/lib): server pinned to core 0, load on core 1, every response verified,
// scenarios interleaved, medians; throughput and CPU-microseconds per call of each side.
//
//   npm run bench:telemetry [-- --quick] [--runs N] [--duration S] [--warmup S] [--only a,b] [--out DIR]

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { grpcRequestFrame } from "../lib/bench-request.ts";
import { machineInfo, revision } from "../lib/machine.ts";
import { exitOnStartupError, formatHelp, WeftError } from "../../mesh/errors/index.ts";
import { BENCH_FLAGS, parseOptions } from "../lib/options.ts";
import { canPin, findTaskset, killChildren, LOAD_CORE } from "../lib/processes.ts";
import { judgeTarget, summarizeScenario, type RunResult, type ScenarioResult, type TargetResult } from "../lib/results.ts";
import { generatorOf, runScenarioOnce, type RunSettings } from "../lib/run-scenario.ts";
import type { Scenario, Target } from "../lib/scenarios.ts";
import { startJaeger } from "../../test/telemetry/jaeger.ts";
import { TELEMETRY_MODES, type TelemetryMode } from "./modes.ts";

const { profile: _profile, render: _render, ...TELEMETRY_FLAGS } = BENCH_FLAGS;
const USAGE = formatHelp({
  usage: "npm run bench:telemetry -- [flags]   (node bench/telemetry/run.ts)",
  summary: "Weft host and mesh client with telemetry off / metrics / metrics + 1% tracing / 100% tracing to a live Jaeger,\nbeside grpc-js with instrumentation-grpc: throughput and CPU-µs per call.",
  flags: { ...TELEMETRY_FLAGS, only: { ...TELEMETRY_FLAGS.only, description: "scenario ids (host/off, client/trace100, peer/grpc-js-otel, ...) or groups host, client, peer" }, out: { ...TELEMETRY_FLAGS.out, defaultText: "bench/results/telemetry" } },
  notes: "Needs h2load, and for the tracing modes Jaeger in .tools/bin (bash scripts/dev-services.sh builds it).",
});

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const HOST_SERVER = here("./host-server.ts");
const MESH_CLIENT = here("./mesh-client.ts");

/** A scenario of this benchmark: which side, which mode. */
interface TelemetryScenario {
  readonly scenario: Scenario;
  readonly mode: TelemetryMode | undefined;
  /** Peer scenarios' own environment needs (the OTLP endpoint). */
  readonly needsJaeger: boolean;
}

function catalog(): TelemetryScenario[] {
  const out: TelemetryScenario[] = [];
  for (const mode of TELEMETRY_MODES) {
    out.push({ scenario: { id: `host/${mode.id}`, group: "grpc", label: `Weft host, ${mode.label}`, server: HOST_SERVER, mode: "h2" }, mode, needsJaeger: mode.tracing });
  }
  for (const mode of TELEMETRY_MODES.filter((m) => m.hostOnly !== true)) {
    out.push({
      scenario: { id: `client/${mode.id}`, group: "client", label: `mesh client → Weft host (both with it), ${mode.label}`, server: HOST_SERVER, mode: "h2", client: MESH_CLIENT },
      mode,
      needsJaeger: mode.tracing,
    });
  }
  out.push({
    scenario: { id: "peer/grpc-js-otel", group: "grpc", label: "grpc-js + @opentelemetry/instrumentation-grpc, tracing 100% to Jaeger", server: here("./grpc-js-otel-server.ts"), mode: "h2" },
    mode: undefined,
    needsJaeger: true,
  });
  out.push({ scenario: { id: "peer/grpc-js", group: "grpc", label: "grpc-js, no telemetry (reference)", server: here("../servers/grpc-js.ts"), mode: "h2" }, mode: undefined, needsJaeger: false });
  return out;
}

const TARGETS: readonly Target[] = [
  { id: "host-red", label: "host: the admin RED window + inbound hooks vs off", subject: "host/red", baseline: "host/off", atLeast: 0.95 },
  { id: "host-metrics", label: "host: metrics only vs off", subject: "host/metrics", baseline: "host/off", atLeast: 0.95 },
  { id: "host-trace1", label: "host: metrics + tracing 1% vs off", subject: "host/metrics-trace1", baseline: "host/off", atLeast: 0.95 },
  { id: "host-trace100", label: "host: tracing 100% vs off", subject: "host/trace100", baseline: "host/off", atLeast: 0.7 },
  { id: "client-metrics", label: "client: metrics only vs off", subject: "client/metrics", baseline: "client/off", atLeast: 0.95 },
  { id: "client-trace1", label: "client: metrics + tracing 1% vs off", subject: "client/metrics-trace1", baseline: "client/off", atLeast: 0.95 },
  { id: "client-trace100", label: "client: tracing 100% vs off", subject: "client/trace100", baseline: "client/off", atLeast: 0.7 },
  { id: "host-vs-grpc-js", label: "host tracing 100% vs grpc-js + instrumentation-grpc 100%", subject: "host/trace100", baseline: "peer/grpc-js-otel", atLeast: 1.0 },
];

/** Jaeger for the tracing modes, or why there is none. */
async function startJaegerIfPossible(): Promise<{ otlpEndpoint: string; queryUrl: string; stop(): Promise<void> } | { reason: string }> {
  try {
    const jaeger = await startJaeger();
    // Jaeger's work is the load side's, never the server core's: all its threads on the load core.
    const taskset = findTaskset();
    if (taskset !== undefined && canPin()) spawnSync(taskset, ["-a", "-p", "-c", String(LOAD_CORE), String(jaeger.pid)]);
    return jaeger;
  } catch (error) {
    return { reason: `Jaeger could not start: ${(error as Error).message.split("\n")[0]}` };
  }
}

const microsPerCall = (share: number | undefined, rate: number | undefined) =>
  share === undefined || rate === undefined || rate <= 0 ? undefined : (share / rate) * 1e6;

function medianOf(values: (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  if (known.length === 0) return undefined;
  const mid = known.length >> 1;
  return known.length % 2 === 1 ? known[mid] : (known[mid - 1] + known[mid]) / 2;
}

function table(results: readonly ScenarioResult[]): string[] {
  const fmt = (n: number | undefined, digits = 0) => (n === undefined ? "–" : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));
  const rows = results.map((s) => {
    const ok = s.runs.filter((r) => r.status === "ok");
    const serverUs = medianOf(ok.map((r) => microsPerCall(r.cpu?.server, r.rate)));
    const clientUs = s.group === "client" ? medianOf(ok.map((r) => microsPerCall(r.cpu?.load, r.rate))) : undefined;
    const sum = s.summary;
    const status =
      sum?.status === "unavailable" ? `not available: ${s.runs[0]?.reason ?? ""}` : sum?.status === "ok" ? "" : `${sum?.status}: ${s.runs.flatMap((r) => r.problems).slice(0, 2).join("; ")}`;
    const range = sum?.min === undefined ? "–" : `${fmt(sum.min)} – ${fmt(sum.max)}`;
    return `| \`${s.id}\` | ${s.label} | ${fmt(sum?.median)} | ${range} | ${fmt(serverUs, 1)} | ${fmt(clientUs, 1)} | ${status} |`;
  });
  return [
    "| scenario | what | calls/s (median) | range | server CPU-µs per call | client CPU-µs per call | notes |",
    "|---|---|---:|---:|---:|---:|---|",
    ...rows,
  ];
}

function targetLines(targets: readonly TargetResult[]): string[] {
  return [
    "| target | ratio | goal | result |",
    "|---|---:|---:|---|",
    ...targets.map((t) => {
      const ratio = t.ratio === undefined ? "–" : `${t.ratio.toFixed(3)}×`;
      const doubt = (t.conditions ?? []).length > 0 ? ` (inconclusive: ${t.conditions!.join(", ")})` : "";
      return `| ${t.label} | ${ratio} | ≥ ${t.atLeast.toFixed(2)}× | ${t.status}${t.note ? ` (${t.note})` : ""}${doubt} |`;
    }),
  ];
}

const argv = process.argv.slice(2);
let options;
try {
  options = parseOptions(argv, TELEMETRY_FLAGS);
} catch (error) {
  exitOnStartupError(new WeftError("WEFT_ERR_STARTUP", (error as Error).message));
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}
const outDir = options.outDir === here("../results") ? here("../results/telemetry") : options.outDir;
const all = catalog();
const selected = all.filter((t) => options.only === undefined || options.only.some((o) => t.scenario.id === o || t.scenario.id.startsWith(`${o}/`)));
if (selected.length === 0) {
  console.error(`--only matches no scenario; known: ${all.map((t) => t.scenario.id).join(", ")}`);
  process.exit(2);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killChildren();
    process.exit(130);
  });
}

const jaeger = selected.some((t) => t.needsJaeger) ? await startJaegerIfPossible() : { reason: "not needed" };
const otlpEndpoint = "otlpEndpoint" in jaeger ? jaeger.otlpEndpoint : undefined;
const tmp = mkdtempSync(join(os.tmpdir(), "weft-bench-telemetry-"));
const grpcBodyFile = join(tmp, "unary-call.grpc");
writeFileSync(grpcBodyFile, grpcRequestFrame);
const settings: RunSettings = { durationS: options.durationS, warmupS: options.warmupS, maxWarmupS: options.maxWarmupS, grpcBodyFile };
const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
const machine = machineInfo();
const results: ScenarioResult[] = selected.map(({ scenario }) => ({ id: scenario.id, group: scenario.group, label: scenario.label, generator: generatorOf(scenario, settings), runs: [] }));

try {
  for (let run = 1; run <= options.runs; run++) {
    const order = selected.map((_, i) => selected[(i + run - 1) % selected.length]);
    for (const t of order) {
      let result: RunResult;
      if (t.needsJaeger && otlpEndpoint === undefined) {
        result = { run, status: "unavailable", problems: [], reason: "reason" in jaeger ? jaeger.reason : "no Jaeger" };
      } else {
        const env = {
          ...(t.mode?.env(otlpEndpoint ?? "") ?? (otlpEndpoint === undefined ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint })),
        };
        result = await runScenarioOnce({ ...t.scenario, env }, run, settings);
      }
      results.find((s) => s.id === t.scenario.id)!.runs.push(result);
      const line =
        result.status === "ok"
          ? `${Math.round(result.rate!).toLocaleString("en-US").padStart(8)} /s  cpu server ${Math.round((result.cpu?.server ?? 0) * 100)}% load ${Math.round((result.cpu?.load ?? 0) * 100)}%`
          : result.status === "unavailable"
            ? `not available: ${result.reason}`
            : `FAILED: ${result.problems.join("; ")}`;
      console.log(`run ${run}/${options.runs} ${t.scenario.id.padEnd(22)} ${line}`);
    }
  }
  // The traced scenarios must have exported: each one's service shows up in Jaeger.
  if ("queryUrl" in jaeger) await checkExported(jaeger.queryUrl);
} finally {
  rmSync(tmp, { recursive: true, force: true });
  if ("stop" in jaeger) await jaeger.stop();
}

/** Marks a traced scenario's runs failed when Jaeger never received a span from its processes. */
async function checkExported(queryUrl: string): Promise<void> {
  const expected: Record<string, string> = { host: "bench-host", client: "bench-client", peer: "bench-grpc-js" };
  let services: string[] = [];
  const until = Date.now() + 5_000;
  // Batches are sent within a second of a span's end; give the last ones time to land.
  while (Date.now() < until) {
    const body = (await fetch(`${queryUrl}/api/v3/services`).then((r) => r.json(), () => ({}))) as { services?: string[] };
    services = body.services ?? [];
    if (Object.values(expected).every((s) => services.includes(s))) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  for (const t of selected.filter((x) => x.needsJaeger && (x.mode === undefined || x.mode.id === "trace100"))) {
    const service = expected[t.scenario.id.split("/")[0]];
    const result = results.find((s) => s.id === t.scenario.id)!;
    if (!services.includes(service) && result.runs.some((r) => r.status === "ok")) {
      const marked = result.runs.map(({ rate: _rate, ...r }) => (r.status === "ok" ? { ...r, status: "failed" as const, problems: [`no span from ${service} reached Jaeger`] } : { ...r, rate: _rate }));
      result.runs.splice(0, result.runs.length, ...marked);
    }
  }
  console.log(`Jaeger received spans from: ${services.join(", ") || "nothing"}`);
}

for (const s of results) s.summary = summarizeScenario(s);
const targets = TARGETS.map((t) => judgeTarget(t, results)).filter((t) => t.note !== "not part of this run (--only)");
machine.loadAverageEnd = Math.round(os.loadavg()[0] * 100) / 100;
const command = `npm run bench:telemetry${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`;
const markdown = [
  `# Telemetry overhead (${startedAt})`,
  "",
  `\`${command}\`: ${options.runs} run(s) x ${options.durationS} s (+${options.warmupS} s warm-up) per scenario, interleaved; ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; ${machine.pinning}; load average ${machine.loadAverageStart} → ${machine.loadAverageEnd}.`,
  "Host and peer rows: h2load -c 4 -m 16 (64 streams), gRPC UnaryCall, every response checked; client rows: 64 calls in flight from one mesh client, every response checked. Tracing modes sample with parentbased_traceidratio (no incoming parent, so the ratio decides) and export by OTLP HTTP/protobuf to a Jaeger v2 (in-memory storage) on this machine, pinned to the load core.",
  "",
  ...table(results),
  "",
  ...targetLines(targets),
  "",
].join("\n");
mkdirSync(outDir, { recursive: true });
const stamp = startedAt.replace(/:/g, "-");
writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify({ startedAt, command, options, machine, revision: revision(), scenarios: results, targets }, null, 2)}\n`);
writeFileSync(join(outDir, `${stamp}.md`), markdown);
writeFileSync(join(outDir, "latest.md"), markdown);
console.log(`\n${markdown}`);
console.log(`results: ${join(outDir, `${stamp}.json`)} and ${join(outDir, "latest.md")}`);
process.exit(results.some((s) => s.summary?.status === "failed" || s.summary?.status === "partial") ? 1 : 0);
