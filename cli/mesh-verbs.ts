// The verbs that read the admin API: ls, stat, edges, top, events report.

import { toJson } from "@bufbuild/protobuf";
import { GetEventStreamsResponseSchema, type MeshSnapshot, MeshSnapshotSchema, type MethodStats } from "../gen/weft/mesh/v1/admin_pb.ts";
import { adminFailure, CliError, EXIT, type Target } from "./target.ts";
import { duration, num, paint, pct, short, table, useColour } from "./render.ts";

/** Options of the read verbs. */
export interface ReadOptions {
  json?: boolean;
  window?: string;
}

/** Parses --window (seconds, 1..900). */
export function windowOf(value: string | undefined): number {
  if (value === undefined) return 60;
  const n = Number(value.replace(/s$/, ""));
  if (!Number.isInteger(n) || n < 1 || n > 900) throw new CliError(`--window must be 1..900 seconds, got ${JSON.stringify(value)}`, EXIT.usage);
  return n;
}

async function snapshot(target: Target, windowSeconds: number): Promise<MeshSnapshot> {
  try {
    const res = await target.admin.getMeshSnapshot({ windowSeconds }, { headers: target.headers, timeoutMs: 10_000 });
    return res.snapshot!;
  } catch (err) {
    throw adminFailure(err, target);
  }
}

/** One row per (service, method), callers summed. */
export interface MethodRow {
  service: string;
  method: string;
  rate: number;
  calls: number;
  errors: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

/** Sums callers of each method (percentiles: the worst caller's, an upper bound). */
export function byMethod(methods: readonly MethodStats[]): MethodRow[] {
  const rows = new Map<string, MethodRow>();
  for (const m of methods) {
    const key = `${m.service}/${m.method}`;
    const row = rows.get(key) ?? { service: m.service, method: m.method, rate: 0, calls: 0, errors: 0, errorRate: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0 };
    row.rate += m.rate;
    row.calls += Number(m.calls);
    row.errors += Number(m.errors);
    row.p50Ms = Math.max(row.p50Ms, m.p50Ms);
    row.p95Ms = Math.max(row.p95Ms, m.p95Ms);
    row.p99Ms = Math.max(row.p99Ms, m.p99Ms);
    rows.set(key, row);
  }
  for (const row of rows.values()) row.errorRate = row.calls === 0 ? 0 : row.errors / row.calls;
  return [...rows.values()].sort((a, b) => b.rate - a.rate || a.method.localeCompare(b.method));
}

function statTable(rows: readonly MethodRow[], colour: boolean): string {
  return table(
    ["SERVICE", "METHOD", "RPS", "SUCCESS", "P50 ms", "P95 ms", "P99 ms"],
    rows.map((r) => [short(r.service), r.method, num(r.rate, 2), r.errorRate > 0.01 ? paint(colour, "red", pct(1 - r.errorRate)) : paint(colour, "green", pct(1 - r.errorRate)), num(r.p50Ms, 2), num(r.p95Ms, 2), num(r.p99Ms, 2)]),
    colour,
  );
}

/** `weft ls`: instances and their services and health. */
export async function ls(target: Target, options: ReadOptions): Promise<string> {
  const snap = await snapshot(target, 60);
  if (options.json) return JSON.stringify(toJson(MeshSnapshotSchema, snap).instances ?? [], null, 2);
  const colour = useColour();
  // Each instance reports whom its own client ejected; turned around, that is who ejected it.
  const ejectedBy = (id: string) => snap.instances.filter((o) => o.ejectedInstances.includes(id)).map((o) => o.instanceId).join(",") || "-";
  const rows = snap.instances.map((i) => [
    i.instanceId,
    i.services.map((s) => (s.serving ? short(s.name) : paint(colour, "red", `${short(s.name)}!`))).join(","),
    i.version,
    duration(Number(i.uptimeMs)),
    i.draining ? paint(colour, "yellow", "draining") : i.ready ? paint(colour, "green", "ready") : paint(colour, "red", "not ready"),
    String(i.inFlight),
    num(i.eventLoopDelayUs / 1000, 1),
    String(i.workerQueueDepth),
    i.concurrencyLimit === 0 ? "-" : String(i.concurrencyLimit),
    i.address || "-",
    ejectedBy(i.instanceId),
  ]);
  return table(["INSTANCE", "SERVICES", "VERSION", "UPTIME", "STATE", "IN-FLIGHT", "LOOP ms", "QUEUE", "LIMIT", "ADDRESS", "EJECTED BY"], rows, colour);
}

/** `weft stat`: RED per method over the window. */
export async function stat(target: Target, options: ReadOptions): Promise<string> {
  const windowSeconds = windowOf(options.window);
  const snap = await snapshot(target, windowSeconds);
  const rows = byMethod(snap.methods);
  if (options.json) return JSON.stringify({ windowSeconds: snap.windowSeconds, historySeconds: snap.historySeconds, methods: rows }, null, 2);
  if (rows.length === 0) return `no calls in the last ${snap.windowSeconds}s`;
  return statTable(rows, useColour());
}

/** One edge of the mesh graph: caller -> service. */
export interface EdgeRow {
  caller: string;
  service: string;
  rate: number;
  calls: number;
  errorRate: number;
  p99Ms: number;
}

/** `weft edges`: who calls whom, with rate, success and p99. */
export async function edges(target: Target, options: ReadOptions): Promise<string> {
  const windowSeconds = windowOf(options.window);
  const snap = await snapshot(target, windowSeconds);
  const map = new Map<string, EdgeRow & { errors: number }>();
  for (const m of snap.methods) {
    const caller = m.caller === "" ? "(outside)" : m.caller;
    const key = `${caller}\u0000${m.service}`;
    const e = map.get(key) ?? { caller, service: m.service, rate: 0, calls: 0, errors: 0, errorRate: 0, p99Ms: 0 };
    e.rate += m.rate;
    e.calls += Number(m.calls);
    e.errors += Number(m.errors);
    e.p99Ms = Math.max(e.p99Ms, m.p99Ms);
    map.set(key, e);
  }
  const rows = [...map.values()].map(({ errors, ...e }) => ({ ...e, errorRate: e.calls === 0 ? 0 : errors / e.calls })).sort((a, b) => b.rate - a.rate);
  if (options.json) return JSON.stringify({ windowSeconds: snap.windowSeconds, edges: rows }, null, 2);
  if (rows.length === 0) return `no calls in the last ${snap.windowSeconds}s`;
  const colour = useColour();
  return table(["FROM", "TO", "RPS", "SUCCESS", "P99 ms"], rows.map((e) => [short(e.caller), short(e.service), num(e.rate, 2), pct(1 - e.errorRate), num(e.p99Ms, 2)]), colour);
}

/** `weft top`: the mesh's RED per method, refreshed every interval (in place on a terminal). */
export async function top(target: Target, options: ReadOptions & { interval?: string; count?: string }, signal: AbortSignal): Promise<void> {
  const windowSeconds = windowOf(options.window ?? "10");
  const intervalMs = Number(options.interval ?? 1000);
  if (!Number.isInteger(intervalMs) || intervalMs < 250 || intervalMs > 60_000) throw new CliError(`--interval must be 250..60000 ms, got ${options.interval}`, EXIT.usage);
  const count = options.count === undefined ? Infinity : Number(options.count);
  if (!(count >= 1)) throw new CliError(`--count must be a positive number, got ${options.count}`, EXIT.usage);
  const tty = process.stdout.isTTY === true && !options.json;
  const colour = useColour();
  let frames = 0;
  try {
    for await (const res of target.admin.watchMesh({ windowSeconds, intervalMs }, { headers: target.headers, signal })) {
      const snap = res.snapshot!;
      const rows = byMethod(snap.methods);
      if (options.json) {
        process.stdout.write(JSON.stringify({ takenAtMs: Number(snap.takenAtMs), windowSeconds: snap.windowSeconds, instances: snap.instances.length, methods: rows }) + "\n");
      } else {
        const head = `weft top  ${new Date(Number(snap.takenAtMs)).toISOString().slice(11, 19)}  ${snap.instances.length} instance(s)  window ${snap.windowSeconds}s  (q or Ctrl-C to quit)`;
        const body = rows.length === 0 ? "no calls in the window" : statTable(rows, colour);
        process.stdout.write((tty ? "\x1b[H\x1b[2J" : "") + paint(colour, "bold", head) + "\n\n" + body + "\n" + (tty ? "" : "\n"));
      }
      if (++frames >= count) break;
    }
  } catch (err) {
    if (signal.aborted) return;
    throw adminFailure(err, target);
  }
}

/** `weft events report`: streams, consumers, pending, redelivered, dead letters and lag. */
export async function eventsReport(target: Target, options: ReadOptions & { prefix?: string }): Promise<string> {
  let res;
  try {
    res = await target.admin.getEventStreams({ namePrefix: options.prefix ?? "" }, { headers: target.headers, timeoutMs: 15_000 });
  } catch (err) {
    throw adminFailure(err, target);
  }
  if (options.json) return JSON.stringify(toJson(GetEventStreamsResponseSchema, res, { alwaysEmitImplicit: true }), null, 2);
  if (!res.available) return "no JetStream here: a one-process shop uses an in-memory event bus (run the distributed mesh with NATS_URL for event streams)";
  const colour = useColour();
  const rows = res.streams.flatMap((s) =>
    s.consumers.length === 0
      ? [[s.name, "-", String(s.messages), "-", "-", "-", "-", "-", "-"]]
      : s.consumers.map((c) => [s.name, c.name, String(s.messages), String(c.pending), String(c.ackPending), String(c.redelivered), c.deadLettered > 0n ? paint(colour, "red", String(c.deadLettered)) : "0", String(c.lagMessages), num(c.lagSeconds, 1)]),
  );
  const report = table(["STREAM", "CONSUMER", "MESSAGES", "PENDING", "ACK-PENDING", "REDELIVERED", "DEAD", "LAG msgs", "LAG s"], rows, colour);
  return res.truncated ? `${report}\n(the first ${res.streams.length} streams by name; more exist: narrow with --prefix)` : report;
}
