// What the pages draw, computed from one MeshSnapshot: edges (caller service -> service), methods merged
// over callers, per-second series summed per edge, and whether an edge breaches its objectives.

import { EventFlowDirection, type MeshSnapshot, type MethodSeries, type MethodStats } from "../../gen/weft/mesh/v1/admin_pb.ts";

/** The caller name the admin API gives calls that did not come through the mesh. */
export const OUTSIDE = "(outside)";

/** Objectives an edge is held to (the page's settings). */
export interface Objectives {
  /** Lowest acceptable success rate, 0..1. */
  readonly minSuccess: number;
  /** Highest acceptable p99, milliseconds. */
  readonly maxP99Ms: number;
}

/** Figures of a group of methods (an edge, or one method over all its callers). */
export interface Figures {
  readonly calls: number;
  readonly errors: number;
  /** Calls per second over the window. */
  readonly rate: number;
  /** 1 when no call failed (or none was made). */
  readonly success: number;
  /** The worst p99 of the group's methods (a p99 of the union needs the buckets). */
  readonly p99Ms: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
}

export interface Edge extends Figures {
  readonly id: string;
  readonly caller: string;
  readonly service: string;
}

export interface MethodRow extends Figures {
  readonly service: string;
  readonly method: string;
}

function sum(rows: readonly MethodStats[]): Figures {
  let calls = 0;
  let errors = 0;
  let rate = 0;
  let p50Ms = 0;
  let p95Ms = 0;
  let p99Ms = 0;
  for (const r of rows) {
    calls += Number(r.calls);
    errors += Number(r.errors);
    rate += r.rate;
    p50Ms = Math.max(p50Ms, r.p50Ms);
    p95Ms = Math.max(p95Ms, r.p95Ms);
    p99Ms = Math.max(p99Ms, r.p99Ms);
  }
  return { calls, errors, rate, success: calls === 0 ? 1 : 1 - errors / calls, p50Ms, p95Ms, p99Ms };
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list === undefined) out.set(k, [r]);
    else list.push(r);
  }
  return out;
}

/** Short name of a fully qualified service ("shop.catalog.v1.CatalogService" -> "CatalogService"). */
export function shortName(service: string): string {
  return service === OUTSIDE ? "outside" : service.slice(service.lastIndexOf(".") + 1);
}

/** Edge id of a caller and a service. */
export function edgeId(caller: string, service: string): string {
  return `${caller}->${service}`;
}

/** Every caller -> service edge with calls in the window. */
export function edgesOf(snapshot: MeshSnapshot): Edge[] {
  const groups = groupBy(snapshot.methods, (m) => edgeId(m.caller || OUTSIDE, m.service));
  return [...groups.entries()].map(([id, rows]) => ({ id, caller: rows[0].caller || OUTSIDE, service: rows[0].service, ...sum(rows) }));
}

/** Every method, its callers merged. */
export function methodsOf(snapshot: MeshSnapshot): MethodRow[] {
  const groups = groupBy(snapshot.methods, (m) => `${m.service}/${m.method}`);
  return [...groups.values()]
    .map((rows) => ({ service: rows[0].service, method: rows[0].method, ...sum(rows) }))
    .sort((a, b) => a.service.localeCompare(b.service) || a.method.localeCompare(b.method));
}

/** Services the graph shows: every service an instance serves, and every caller and callee seen. */
export function servicesOf(snapshot: MeshSnapshot): string[] {
  const names = new Set<string>();
  for (const i of snapshot.instances) for (const s of i.services) if (!s.name.startsWith("grpc.") && !s.name.startsWith("weft.mesh.")) names.add(s.name);
  for (const m of snapshot.methods) {
    if (!m.service.startsWith("grpc.") && !m.service.startsWith("weft.mesh.")) names.add(m.service);
    if (m.caller !== "" && m.caller !== OUTSIDE) names.add(m.caller);
  }
  return [...names].sort();
}

/** Node id prefix of a NATS stream. */
export const STREAM_PREFIX = "stream:";

/** A service -> stream (publishes) or stream -> service (consumes) edge, from the instances' event flows. */
export interface EventEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly direction: "publish" | "consume";
  /** The stream's name. */
  readonly stream: string;
  /** Event types on the edge. */
  readonly eventTypes: readonly string[];
  /** Messages since the instances started (published, or consumed and acknowledged). */
  readonly messages: number;
}

/** Every event edge: each instance's flows, tied to the services it serves, summed over instances. */
export function eventEdgesOf(snapshot: MeshSnapshot): EventEdge[] {
  const edges = new Map<string, { source: string; target: string; direction: "publish" | "consume"; stream: string; eventTypes: Set<string>; messages: number }>();
  for (const instance of snapshot.instances) {
    const services = instance.services.map((s) => s.name).filter((n) => !n.startsWith("grpc.") && !n.startsWith("weft.mesh."));
    for (const flow of instance.eventFlows) {
      const publish = flow.direction === EventFlowDirection.PUBLISH;
      if (!publish && flow.direction !== EventFlowDirection.CONSUME) continue;
      const stream = STREAM_PREFIX + flow.stream;
      for (const service of services) {
        const [source, target] = publish ? [service, stream] : [stream, service];
        const id = edgeId(source, target);
        let edge = edges.get(id);
        if (edge === undefined) edges.set(id, (edge = { source, target, direction: publish ? "publish" : "consume", stream: flow.stream, eventTypes: new Set(), messages: 0 }));
        edge.eventTypes.add(flow.eventType);
        edge.messages += Number(flow.messages);
      }
    }
  }
  return [...edges.entries()].map(([id, e]) => ({ id, ...e, eventTypes: [...e.eventTypes].sort() })).sort((a, b) => a.id.localeCompare(b.id));
}

/** Whether figures breach the objectives (an edge with no calls breaches nothing). */
export function breaches(f: Figures, o: Objectives): boolean {
  return f.calls > 0 && (f.success < o.minSuccess || f.p99Ms > o.maxP99Ms);
}

/** Per-second series (calls, errors, worst p99) summed over the series that `keep` selects. */
export interface SummedSeries {
  readonly seconds: number[];
  readonly calls: number[];
  readonly errors: number[];
  readonly p99Ms: number[];
}

export function sumSeries(series: readonly MethodSeries[], keep: (s: MethodSeries) => boolean): SummedSeries {
  const chosen = series.filter(keep);
  if (chosen.length === 0) return { seconds: [], calls: [], errors: [], p99Ms: [] };
  const start = Math.min(...chosen.map((s) => Number(s.startUnixS)));
  const end = Math.max(...chosen.map((s) => Number(s.startUnixS) + s.calls.length));
  const n = end - start;
  const out = { seconds: Array.from({ length: n }, (_, i) => start + i), calls: new Array<number>(n).fill(0), errors: new Array<number>(n).fill(0), p99Ms: new Array<number>(n).fill(0) };
  for (const s of chosen) {
    const offset = Number(s.startUnixS) - start;
    s.calls.forEach((v, i) => (out.calls[offset + i] += v));
    s.errors.forEach((v, i) => (out.errors[offset + i] += v));
    s.p99Ms.forEach((v, i) => (out.p99Ms[offset + i] = Math.max(out.p99Ms[offset + i], v)));
  }
  return out;
}

/** Formats a rate, a share and a latency the way every page shows them. */
export const format = {
  rate: (r: number) => (r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)),
  percent: (x: number) => `${(x * 100).toFixed(x === 1 ? 0 : 1)}%`,
  ms: (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`),
};

/** Text made safe for innerHTML (names come from the mesh, not from this page). */
export function esc(text: string | number | bigint): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
