// A real Jaeger v2 (the binary scripts/dev-services.sh builds into .tools/bin) for the tracing tests:
// OTLP HTTP receiver and query API on free loopback ports, in-memory storage, its own tracing off.
// Traces are read back through the stable query API, /api/v3/traces (OTLP JSON).

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { freePort } from "../support/free-port.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";

const JAEGER = new URL("../../.tools/bin/jaeger", import.meta.url).pathname;

/** One span as read back from Jaeger, flattened. */
export interface StoredSpan {
  readonly service: string;
  readonly name: string;
  /** "SERVER", "CLIENT", "PRODUCER", "CONSUMER" or "INTERNAL". */
  readonly kind: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly startNs: bigint;
  readonly durationMs: number;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly events: readonly string[];
}

/** A running Jaeger. */
export interface Jaeger {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT, e.g. "http://127.0.0.1:43187". */
  readonly otlpEndpoint: string;
  /** Base URL of the query API and UI. */
  readonly queryUrl: string;
  /** The Jaeger process's pid (benchmarks pin it to a core). */
  readonly pid: number;
  /** Every span of a trace (empty when Jaeger has none yet). */
  trace(traceId: string): Promise<StoredSpan[]>;
  /** Polls until `done(spans)` holds for the trace, or fails after `timeoutMs` showing what it had. */
  waitForTrace(traceId: string, done: (spans: StoredSpan[]) => boolean, timeoutMs?: number): Promise<StoredSpan[]>;
  stop(): Promise<void>;
}

const KINDS = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];

function kindName(kind: unknown): string {
  if (typeof kind === "number") return KINDS[kind] ?? String(kind);
  return String(kind).replace(/^SPAN_KIND_/, "");
}

function attrValue(v: Record<string, unknown>): string | number | boolean {
  if ("stringValue" in v) return String(v.stringValue);
  if ("intValue" in v) return Number(v.intValue);
  if ("doubleValue" in v) return Number(v.doubleValue);
  if ("boolValue" in v) return Boolean(v.boolValue);
  return JSON.stringify(v);
}

function attrs(list: unknown): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const a of (list as { key: string; value: Record<string, unknown> }[] | undefined) ?? []) out[a.key] = attrValue(a.value ?? {});
  return out;
}

// OTLP JSON ids are hex; some gateways emit base64: normalise to lower-case hex.
function hexId(id: unknown): string {
  const s = String(id ?? "");
  if (s === "" || /^[0-9a-f]+$/i.test(s)) return s.toLowerCase();
  return Buffer.from(s, "base64").toString("hex");
}

/** Flattens an OTLP JSON TracesData into spans. */
export function flattenTraces(body: unknown): StoredSpan[] {
  const result = (body as { result?: { resourceSpans?: unknown[] } }).result ?? (body as { resourceSpans?: unknown[] });
  const spans: StoredSpan[] = [];
  for (const rs of (result.resourceSpans ?? []) as { resource?: { attributes?: unknown }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[]) {
    const service = String(attrs(rs.resource?.attributes)["service.name"] ?? "");
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const start = BigInt(String(s.startTimeUnixNano ?? "0"));
        const end = BigInt(String(s.endTimeUnixNano ?? "0"));
        const status = (s.status ?? {}) as { code?: unknown; message?: string };
        const code = status.code === "STATUS_CODE_ERROR" || status.code === 2 ? 2 : status.code === "STATUS_CODE_OK" || status.code === 1 ? 1 : 0;
        spans.push({
          service,
          name: String(s.name),
          kind: kindName(s.kind),
          traceId: hexId(s.traceId),
          spanId: hexId(s.spanId),
          parentSpanId: hexId(s.parentSpanId),
          startNs: start,
          durationMs: Number(end - start) / 1e6,
          attributes: attrs(s.attributes),
          statusCode: code,
          statusMessage: status.message ?? "",
          events: ((s.events as { name: string }[] | undefined) ?? []).map((e) => e.name),
        });
      }
    }
  }
  return spans.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
}

/** The span tree of a trace as indented text: service, name, kind and duration per line. */
export function renderTree(spans: readonly StoredSpan[]): string {
  const ids = new Set(spans.map((s) => s.spanId));
  const lines: string[] = [];
  const walk = (parent: string, depth: number) => {
    for (const s of spans.filter((x) => (depth === 0 ? !ids.has(x.parentSpanId) : x.parentSpanId === parent))) {
      const code = s.attributes["rpc.connect_rpc.error_code"] ?? (s.statusCode === 2 ? "error" : "");
      lines.push(`${"  ".repeat(depth)}${s.service}  ${s.name}  [${s.kind}]  ${s.durationMs.toFixed(2)} ms${code ? `  (${code})` : ""}`);
      walk(s.spanId, depth + 1);
    }
  };
  walk("", 0);
  return lines.join("\n");
}

/** Starts Jaeger; fails (never skips) naming the command that builds it when the binary is missing. */
export async function startJaeger(): Promise<Jaeger> {
  if (!existsSync(JAEGER)) {
    throw new Error(`Jaeger is not installed at ${JAEGER}: run \`bash scripts/dev-services.sh\` (builds the pinned Jaeger v2 into .tools/bin)`);
  }
  const [otlpPort, queryPort, queryGrpcPort] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "weft-jaeger-"));
  const config = join(dir, "config.yaml");
  writeFileSync(config, `
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:${queryPort}
    grpc:
      endpoint: 127.0.0.1:${queryGrpcPort}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlpPort}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`);
  const proc: ChildProcess = spawn(JAEGER, ["--config", config], { stdio: ["ignore", "ignore", "pipe"] });
  const stderr: string[] = [];
  proc.stderr!.on("data", (c: Buffer) => stderr.push(c.toString()));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const queryUrl = `http://127.0.0.1:${queryPort}`;
  const otlpEndpoint = `http://127.0.0.1:${otlpPort}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`jaeger exited with ${proc.exitCode}:\n${stderr.join("").slice(-2000)}`);
    const ready = await fetch(`${queryUrl}/api/v3/services`).then((r) => r.ok, () => false);
    const receiving = ready && (await fetch(`${otlpEndpoint}/v1/traces`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).then((r) => r.ok, () => false));
    if (receiving) break;
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`jaeger not ready within 30 s:\n${stderr.join("").slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  async function traceOf(traceId: string): Promise<StoredSpan[]> {
    const res = await fetch(`${queryUrl}/api/v3/traces/${traceId}`);
    if (res.status === 404) return [];
    if (!res.ok) throw new Error(`jaeger query ${res.status}: ${await res.text()}`);
    return flattenTraces(await res.json());
  }

  return {
    otlpEndpoint,
    queryUrl,
    pid: proc.pid!,
    trace: traceOf,
    async waitForTrace(traceId, done, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      let spans: StoredSpan[] = [];
      for (;;) {
        spans = await traceOf(traceId);
        if (done(spans)) return spans;
        if (Date.now() > until) throw new Error(`trace ${traceId} incomplete after ${timeoutMs} ms; Jaeger has:\n${renderTree(spans)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop() {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh W3C traceparent (sampled) and its ids, as a browser or curl caller would send. */
export function newTraceparent(): { traceparent: string; traceId: string; spanId: string } {
  const traceId = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
  const spanId = Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString("hex");
  return { traceparent: `00-${traceId}-${spanId}-01`, traceId, spanId };
}
