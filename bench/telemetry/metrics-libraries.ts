// prom-client against the OpenTelemetry metrics SDK with its Prometheus exporter, for the choice of
// mesh/telemetry's metrics library: per-call recording cost (one counter increment and one histogram
// observation with 4 labels, label sets resolved once: prom-client's `labels()` children, OTel's reused
// attribute objects) and the cost of one scrape of ~200 series; and mesh/telemetry's own path (plain
// cells per label set, rendered by prom-client). Each runs in its own child process pinned to core 0,
// in rotating order; CPU time per call and per scrape, medians.
// Usage: node bench/telemetry/metrics-libraries.ts [--quick] [--runs N]   (results to stdout as JSON)

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { pinned, SERVER_CORE } from "../lib/processes.ts";
import { numberSetting, readCommandLine } from "../../mesh/errors/index.ts";

/** Latency buckets of the comparison (seconds), the same count as the runtime's. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Label sets recorded to: 12 (service, method) pairs x 2 codes; with 14 buckets this is ~200+ series each side. */
const LABEL_SETS = Array.from({ length: 12 }, (_, i) => ["shop.catalog.v1.CatalogService", `Method${i}`, i % 4 === 0 ? "not_found" : "ok", "server"]);

interface Result {
  readonly library: string;
  readonly recordNs: number;
  readonly scrapeUs: number;
  readonly series: number;
  readonly scrapeBytes: number;
}

async function measureChild(library: string, calls: number, scrapes: number): Promise<Result> {
  const labelNames = ["service", "method", "code", "side"] as const;
  let record: (i: number, seconds: number) => void;
  let scrape: () => Promise<string>;
  if (library === "weft-cells") {
    const { createMetrics } = await import("../../mesh/telemetry/index.ts");
    const { TestService } = await import("../../gen/weft/testing/v1/test_pb.ts");
    const metrics = createMetrics({ processMetrics: false });
    // The same 12 label sets (12 methods), through the per-method cells the server hooks use.
    const cells = LABEL_SETS.map((l) => {
      const service = { ...TestService, typeName: l[0] } as typeof TestService;
      const method = { ...TestService.methods[0], name: l[1], parent: service };
      (service as { methods: unknown[] }).methods = [method];
      return { m: metrics.rpcServer.method(service, method), code: l[2] === "ok" ? 0 : 5 };
    });
    record = (i, seconds) => {
      const c = cells[i % cells.length];
      c.m.record(c.code, seconds);
    };
    scrape = () => metrics.render();
  } else if (library === "prom-client") {
    const prom = await import("prom-client");
    const registry = new prom.Registry();
    const counter = new prom.Counter({ name: "bench_requests_total", help: "calls", labelNames, registers: [registry] });
    const histogram = new prom.Histogram({ name: "bench_duration_seconds", help: "latency", labelNames, buckets: BUCKETS, registers: [registry] });
    const children = LABEL_SETS.map((l) => ({ c: counter.labels(...l), h: histogram.labels(...l) }));
    record = (i, seconds) => {
      const child = children[i % children.length];
      child.c.inc();
      child.h.observe(seconds);
    };
    scrape = () => registry.metrics();
  } else {
    const { MeterProvider } = await import("@opentelemetry/sdk-metrics");
    const { PrometheusExporter, PrometheusSerializer } = await import("@opentelemetry/exporter-prometheus");
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [exporter] });
    const meter = provider.getMeter("bench");
    const counter = meter.createCounter("bench_requests", { description: "calls" });
    const histogram = meter.createHistogram("bench_duration", { description: "latency", unit: "s", advice: { explicitBucketBoundaries: BUCKETS } });
    // The OpenTelemetry API has no bound instruments: the best a caller can do is reuse the attribute object.
    const attributes = LABEL_SETS.map((l) => ({ service: l[0], method: l[1], code: l[2], side: l[3] }));
    record = (i, seconds) => {
      const a = attributes[i % attributes.length];
      counter.add(1, a);
      histogram.record(seconds, a);
    };
    const serializer = new PrometheusSerializer();
    scrape = async () => {
      const { resourceMetrics } = await exporter.collect();
      return serializer.serialize(resourceMetrics);
    };
  }
  // CPU time of this process (user + system), not wall time: other work on the machine steals time
  // but not CPU-seconds.
  const cpuMicros = (since: NodeJS.CpuUsage) => {
    const d = process.cpuUsage(since);
    return d.user + d.system;
  };
  for (let i = 0; i < 200_000; i++) record(i, (i % 100) / 1000);
  const started = process.cpuUsage();
  for (let i = 0; i < calls; i++) record(i, (i % 100) / 1000);
  const recordNs = (cpuMicros(started) * 1000) / calls;
  let text = "";
  for (let i = 0; i < 20; i++) text = await scrape();
  const scrapeStarted = process.cpuUsage();
  for (let i = 0; i < scrapes; i++) text = await scrape();
  const scrapeUs = cpuMicros(scrapeStarted) / scrapes;
  const series = text.split("\n").filter((line) => line !== "" && !line.startsWith("#")).length;
  return { library, recordNs: Math.round(recordNs), scrapeUs: Math.round(scrapeUs), series, scrapeBytes: text.length };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const { values, positionals } = readCommandLine({
  usage: "node bench/telemetry/metrics-libraries.ts [--quick] [--runs N]   (results to stdout as JSON)",
  summary: "prom-client against the OpenTelemetry metrics SDK and mesh/telemetry's cells: CPU per recorded call and per scrape.",
  flags: {
    quick: { type: "boolean", description: "200k calls and 100 scrapes instead of 2M and 1000, 1 run" },
    runs: { type: "string", valueName: "N", defaultText: "5, quick 1", description: "runs, libraries in rotating order" },
    child: { type: "boolean", description: "internal: measure one library (positionals: library calls scrapes)" },
  },
  positionals: [
    { name: "library", description: "with --child: prom-client, otel-sdk-metrics or weft-cells" },
    { name: "calls", description: "with --child: recorded calls" },
    { name: "scrapes", description: "with --child: scrapes" },
  ],
});
if (values.child === true) {
  const result = await measureChild(positionals[0], Number(positionals[1]), Number(positionals[2]));
  process.stdout.write(JSON.stringify(result));
} else {
  const quick = values.quick === true;
  const runs = numberSetting("--runs", values.runs, quick ? 1 : 5, { min: 1, integer: true });
  const calls = quick ? 200_000 : 2_000_000;
  const scrapes = quick ? 100 : 1_000;
  const self = fileURLToPath(import.meta.url);
  const libraries = ["prom-client", "otel-sdk-metrics", "weft-cells"];
  const results: Record<string, Result[]> = Object.fromEntries(libraries.map((l) => [l, []]));
  for (let run = 0; run < runs; run++) {
    for (const library of libraries.map((_, i) => libraries[(i + run) % libraries.length])) {
      const { command, args: argv } = pinned(SERVER_CORE, process.execPath, [self, "--child", library, String(calls), String(scrapes)]);
      const child = spawnSync(command, argv, { encoding: "utf8" });
      if (child.status !== 0) throw new Error(`${library} child failed: ${child.stderr}`);
      results[library].push(JSON.parse(child.stdout) as Result);
    }
  }
  const summary = Object.entries(results).map(([library, list]) => ({
    library,
    recordNsPerCall: median(list.map((r) => r.recordNs)),
    recordNsRange: [Math.min(...list.map((r) => r.recordNs)), Math.max(...list.map((r) => r.recordNs))],
    scrapeUs: median(list.map((r) => r.scrapeUs)),
    scrapeUsRange: [Math.min(...list.map((r) => r.scrapeUs)), Math.max(...list.map((r) => r.scrapeUs))],
    series: list[0].series,
    scrapeBytes: list[0].scrapeBytes,
  }));
  console.log(JSON.stringify({ runs, calls, scrapes, node: process.version, summary }, null, 2));
}
