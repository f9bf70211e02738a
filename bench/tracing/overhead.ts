// What tracing costs the Weft host: the same gRPC server (bench/tracing/traced-server.ts) with tracing
// off, sampled at 1%, and at 100% exporting every span to a live Jaeger v2, driven by h2load (64 calls in
// flight). Server pinned to core 0; h2load and Jaeger share core 1. Reports throughput and server
// CPU-microseconds per call (median of the runs, modes interleaved) and the cost against off.
//
// Usage: node bench/tracing/overhead.ts [--runs 3] [--requests 150000] [--wait-idle 0]

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { readCommandLine } from "../../mesh/errors/index.ts";
import { grpcRequestFrame, grpcResponseFrame, BENCH_PATH } from "../lib/bench-request.ts";
import { checkH2load, h2loadAvailable, runH2load } from "../lib/h2load.ts";
import { cpuSeconds, killChildren, LOAD_CORE, SERVER_CORE, startChild, waitForIdleCores } from "../lib/processes.ts";
import { median } from "../lib/stats.ts";
import { startJaeger } from "../../test/telemetry/jaeger.ts";

const { values } = readCommandLine({
  usage: "npm run bench:tracing -- [flags]   (node bench/tracing/overhead.ts)",
  summary: "Weft host gRPC throughput and server CPU per call with tracing off, sampled at 1%, and 100% exported to a\nlive Jaeger (.tools/bin/jaeger, started here); h2load drives it (Debian nghttp2-client).",
  flags: {
    runs: { type: "string", default: "3", valueName: "N", description: "runs per mode, modes interleaved" },
    requests: { type: "string", default: "150000", valueName: "N", description: "requests per run" },
    "wait-idle": { type: "string", default: "0", valueName: "S", description: "before each run, wait up to S seconds for idle cores (0: do not wait)" },
  },
});
const runs = Number(values.runs);
const requests = Number(values.requests);
const waitIdleMs = Number(values["wait-idle"]) * 1000;
let busyRuns = 0;
if (!h2loadAvailable()) throw new Error("h2load is missing: run `bash scripts/dev-services.sh` (Debian nghttp2-client)");

const SERVER = new URL("./traced-server.ts", import.meta.url).pathname;
const jaeger = await startJaeger();
spawnSync("taskset", ["-a", "-p", "-c", String(LOAD_CORE), String(jaeger.pid)]);
const modes = [
  { id: "off", env: { OTEL_SDK_DISABLED: "true" } },
  { id: "tracing 1%", env: { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint, OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.01" } },
  { id: "tracing 100% to Jaeger", env: { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint, OTEL_TRACES_SAMPLER: "parentbased_always_on" } },
] as const;
const OTEL_KEYS = ["OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"];

const dir = mkdtempSync(join(tmpdir(), "weft-tracing-bench-"));
const bodyFile = join(dir, "request.bin");
writeFileSync(bodyFile, grpcRequestFrame);
const results = new Map<string, { rps: number[]; cpuUs: number[] }>(modes.map((m) => [m.id, { rps: [], cpuUs: [] }]));

try {
  for (let run = 0; run < runs; run++) {
    for (const mode of modes) {
      for (const key of OTEL_KEYS) delete process.env[key];
      Object.assign(process.env, mode.env);
      if (waitIdleMs > 0) {
        const idle = await waitForIdleCores(waitIdleMs);
        if (!idle.idle) busyRuns++;
      }
      const server = await startChild(SERVER, [], SERVER_CORE);
      if (server.kind !== "ready") throw new Error(server.reason);
      try {
        const url = `http://127.0.0.1:${server.port}${BENCH_PATH}`;
        await runH2load(url, bodyFile, { requests: Math.min(30_000, requests) }); // warm-up
        const before = cpuSeconds(server.pid)!;
        const report = await runH2load(url, bodyFile, { requests });
        const after = cpuSeconds(server.pid)!;
        const problems = checkH2load(report, grpcResponseFrame.length, true);
        if (problems.length > 0) throw new Error(`${mode.id}: ${problems.join("; ")}`);
        const r = results.get(mode.id)!;
        r.rps.push(report.reqPerSec);
        r.cpuUs.push(((after - before) * 1e6) / report.succeeded);
        console.error(`run ${run + 1} ${mode.id}: ${Math.round(report.reqPerSec)} req/s, ${(((after - before) * 1e6) / report.succeeded).toFixed(1)} us CPU/call (${server.detail})`);
      } finally {
        await server.stop();
      }
    }
  }
  // Jaeger really received the 100% run's spans.
  const services = (await (await fetch(`${jaeger.queryUrl}/api/v3/services`)).json()) as { services?: string[] };
  if (!services.services?.includes("bench-server")) throw new Error("Jaeger received no spans from the 100% runs");
} finally {
  await jaeger.stop();
  killChildren();
  rmSync(dir, { recursive: true, force: true });
}

const off = results.get("off")!;
const offRps = median(off.rps);
const offCpu = median(off.cpuUs);
const lines = [
  `Weft host, gRPC tiny unary, h2load -c 4 -m 16, ${requests} calls per run, ${runs} runs (medians); server on core ${SERVER_CORE}, h2load and Jaeger on core ${LOAD_CORE}` +
    (waitIdleMs > 0 ? `; ${busyRuns} of ${runs * modes.length} runs started with other work on the cores` : "; cores not checked for other work"),
  "",
  "| mode | req/s | server CPU us/call | throughput cost vs off | CPU cost vs off |",
  "|---|---:|---:|---:|---:|",
  ...modes.map((m) => {
    const r = results.get(m.id)!;
    const rps = median(r.rps);
    const cpu = median(r.cpuUs);
    return `| ${m.id} | ${Math.round(rps).toLocaleString("en-US")} | ${cpu.toFixed(1)} | ${(((offRps - rps) / offRps) * 100).toFixed(1)}% | ${(((cpu - offCpu) / offCpu) * 100).toFixed(1)}% |`;
  }),
];
console.log(lines.join("\n"));
