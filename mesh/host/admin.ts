// weft.mesh.v1.AdminService: what this host runs, how it is doing, its schema, and (through the
// `admin` extensions a mesh node supplies) the whole mesh and its event streams.

import { create, type DescFile, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  AdminService,
  EventFlowDirection,
  type GetEventStreamsResponseSchema,
  type TailEventsRequest,
  type TailEventsResponseSchema,
  type InstanceSnapshot,
  InstanceSnapshotSchema,
  type MeshSnapshot,
  MeshSnapshotSchema,
  type MethodSeriesSchema,
  type MethodStatsSchema,
} from "../../gen/weft/mesh/v1/admin_pb.ts";
import type { HostHealth } from "./health.ts";

/** Per-method figures as the admin API reports them. */
export type AdminMethodStats = MessageInitShape<typeof MethodStatsSchema>;
/** Per-method series as the admin API reports them. */
export type AdminMethodSeries = MessageInitShape<typeof MethodSeriesSchema>;

/** What a mesh node adds to its host's AdminService (every field optional). */
export interface AdminExtensions {
  /** This instance's per-method figures over the last `windowS` seconds (at most its window). */
  readonly methods?: (windowS: number) => AdminMethodStats[];
  /** This instance's per-method per-second series over the last `windowS` seconds. */
  readonly series?: (windowS: number) => AdminMethodSeries[];
  /** Seconds the per-method window holds. Default 60. */
  readonly windowSeconds?: number;
  /** Load figures beyond in-flight. */
  readonly load?: () => { eventLoopDelayUs: number; workerQueueDepth: number; concurrencyLimit: number };
  /** "host:port" announced for HTTP/2 callers. */
  readonly address?: () => string;
  /** Instance ids this instance's mesh client has ejected now (outlier detection). */
  readonly ejected?: () => string[];
  /** The mesh-wide snapshot (an aggregator over NATS); without it the mesh is this instance. */
  readonly mesh?: (request: { windowSeconds: number; series: boolean }, signal: AbortSignal) => Promise<MeshSnapshot>;
  /** JetStream streams and consumers; without it the answer says none are available. */
  readonly eventStreams?: (namePrefix: string, signal: AbortSignal) => Promise<MessageInitShape<typeof GetEventStreamsResponseSchema>>;
  /** A live tail of one stream; without it TailEvents fails FAILED_PRECONDITION (no JetStream here). */
  /** The streams this instance publishes to and consumes from (mesh/events EventFlows.list). */
  readonly eventFlows?: () => readonly { stream: string; eventType: string; direction: "publish" | "consume"; consumer: string; messages: number }[];
  readonly tailEvents?: (request: TailEventsRequest, signal: AbortSignal) => AsyncIterable<MessageInitShape<typeof TailEventsResponseSchema>>;
}

/** What the AdminService reports, read at call time. */
export interface AdminStatusSource {
  readonly instanceId: string;
  readonly version: string;
  /** The user's services (not the host's own health/reflection/admin). */
  readonly serviceNames: readonly string[];
  /** Every served service (the user's and the host's own), for GetDescriptors. */
  readonly served: readonly DescService[];
  readonly health: HostHealth;
  /** Milliseconds since listen() (0 before). */
  uptimeMs(): number;
  inFlight(): number;
  draining(): boolean;
  readonly extensions: AdminExtensions | undefined;
}

/** Bounds of a window or an interval asked for by a caller. */
const MAX_WINDOW_S = 900;
const DEFAULT_WINDOW_S = 60;
const MIN_INTERVAL_MS = 250;
const MAX_INTERVAL_MS = 60_000;

function windowOf(requested: number): number {
  if (requested === 0) return DEFAULT_WINDOW_S;
  if (requested > MAX_WINDOW_S) throw new ConnectError(`window_seconds must be 1..${MAX_WINDOW_S}, got ${requested}`, Code.InvalidArgument);
  return requested;
}

/** This instance's snapshot, as GetInstance and the mesh gathering report it. */
export function instanceSnapshot(source: AdminStatusSource): InstanceSnapshot {
  const ext = source.extensions;
  const load = ext?.load?.();
  const windowSeconds = ext?.windowSeconds ?? DEFAULT_WINDOW_S;
  const draining = source.draining();
  const services = source.serviceNames.map((name) => ({ name, serving: source.health.get(name) === "SERVING" }));
  return create(InstanceSnapshotSchema, {
    instanceId: source.instanceId,
    version: source.version,
    services,
    uptimeMs: BigInt(Math.max(0, Math.round(source.uptimeMs()))),
    address: ext?.address?.() ?? "",
    ready: !draining && services.every((s) => s.serving),
    draining,
    inFlight: source.inFlight(),
    eventLoopDelayUs: load?.eventLoopDelayUs ?? 0,
    workerQueueDepth: load?.workerQueueDepth ?? 0,
    concurrencyLimit: load?.concurrencyLimit ?? 0,
    methods: ext?.methods?.(windowSeconds) ?? [],
    windowSeconds,
    takenAtMs: BigInt(Date.now()),
    ejectedInstances: ext?.ejected?.() ?? [],
    eventFlows: (ext?.eventFlows?.() ?? []).map((f) => ({ stream: f.stream, eventType: f.eventType, consumer: f.consumer, messages: BigInt(f.messages), direction: f.direction === "publish" ? EventFlowDirection.PUBLISH : EventFlowDirection.CONSUME })),
  });
}

/** The files declaring `services` and everything they import, each file after its imports. */
export function descriptorFiles(services: readonly DescService[]): DescFile[] {
  const out: DescFile[] = [];
  const seen = new Set<string>();
  const visit = (file: DescFile) => {
    if (seen.has(file.proto.name)) return;
    seen.add(file.proto.name);
    for (const dependency of file.dependencies) visit(dependency);
    out.push(file);
  };
  for (const service of services) visit(service.file);
  return out;
}

/** The AdminService implementation over `source`. */
export function createAdminService(source: AdminStatusSource): ServiceImpl<typeof AdminService> {
  const ext = source.extensions;
  let descriptors: ReturnType<typeof create<typeof FileDescriptorSetSchema>> | undefined;
  const localMesh = (windowS: number, series: boolean): MeshSnapshot => {
    const instance = instanceSnapshot(source);
    const w = Math.min(windowS, instance.windowSeconds);
    return create(MeshSnapshotSchema, {
      takenAtMs: instance.takenAtMs,
      windowSeconds: w,
      aggregatorId: source.instanceId,
      instances: [instance],
      methods: ext?.methods?.(w) ?? [],
      series: series ? (ext?.series?.(w) ?? []) : [],
      historySeconds: Math.min(instance.windowSeconds, Math.floor(source.uptimeMs() / 1000)),
    });
  };
  const meshSnapshot = (windowS: number, series: boolean, signal: AbortSignal): Promise<MeshSnapshot> =>
    ext?.mesh === undefined ? Promise.resolve(localMesh(windowS, series)) : ext.mesh({ windowSeconds: windowS, series }, signal);
  return {
    getStatus() {
      return {
        instanceId: source.instanceId,
        version: source.version,
        services: source.serviceNames.map((name) => ({ name, serving: source.health.get(name) === "SERVING" })),
        uptimeMs: BigInt(Math.max(0, Math.round(source.uptimeMs()))),
        inFlight: source.inFlight(),
        draining: source.draining(),
      };
    },
    getInstance() {
      return { instance: instanceSnapshot(source) };
    },
    getDescriptors() {
      descriptors ??= create(FileDescriptorSetSchema, { file: descriptorFiles(source.served).map((f) => f.proto) });
      return { files: descriptors, services: source.served.map((s) => s.typeName) };
    },
    async getMeshSnapshot(request, context: HandlerContext) {
      return { snapshot: await meshSnapshot(windowOf(request.windowSeconds), false, context.signal) };
    },
    async *watchMesh(request, context: HandlerContext) {
      const windowS = windowOf(request.windowSeconds);
      const intervalMs = request.intervalMs === 0 ? 1000 : request.intervalMs;
      if (intervalMs < MIN_INTERVAL_MS || intervalMs > MAX_INTERVAL_MS) {
        throw new ConnectError(`interval_ms must be ${MIN_INTERVAL_MS}..${MAX_INTERVAL_MS}, got ${intervalMs}`, Code.InvalidArgument);
      }
      const signal = context.signal;
      while (!signal.aborted) {
        yield { snapshot: await meshSnapshot(windowS, request.series, signal) };
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, intervalMs);
          function done() {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
          }
          signal.addEventListener("abort", done, { once: true });
        });
      }
    },
    async getEventStreams(request, context: HandlerContext) {
      if (ext?.eventStreams === undefined) return { available: false, streams: [] };
      return ext.eventStreams(request.namePrefix, context.signal);
    },
    async *tailEvents(request, context: HandlerContext) {
      if (ext?.tailEvents === undefined) throw new ConnectError("this instance has no JetStream (a one-process shop uses an in-memory bus)", Code.FailedPrecondition);
      yield* ext.tailEvents(request, context.signal);
    },
  };
}

/** The AdminService descriptor, re-exported for the host. */
export { AdminService };
