// A process's Prometheus metrics: one prom-client registry with Weft's RPC, resilience, events, cache
// and compute families (names.ts) and Node's process metrics, rendered as exposition text for the
// host's `/metrics`. Created once by a process's main and handed to each part; a part given no
// metrics records nothing (one `undefined` check per call).

import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { WeftOptionsError } from "../errors/index.ts";
import { CounterFamily, GaugeFamily, HistogramFamily, type ValueCell } from "./metrics-cells.ts";
import { RpcSideMetrics } from "./metrics-rpc.ts";
import { latencyBucketsSeconds, metricNames, rpcCodeNames, shedReasons, UNKNOWN_LABEL_VALUE, type ShedReason } from "./names.ts";

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Serve Node's process metrics (memory, CPU, event-loop delay, GC). Default true. */
  readonly processMetrics?: boolean;
  /** Distinct services recorded per side before further ones are recorded as `unknown`. Default 100. */
  readonly maxServices?: number;
  /** Labels added to every series, e.g. `{ instance_id: "catalog-1" }`. Default none. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
}

/** The cells of one cache. */
export interface CacheMetrics {
  readonly hitsLocal: ValueCell;
  readonly hitsShared: ValueCell;
  readonly misses: ValueCell;
  readonly fills: ValueCell;
  readonly bypasses: ValueCell;
}

/** The cells of one event type on the publishing side. */
export interface PublishMetrics {
  readonly published: ValueCell;
}

/** The cells of one (event type, consumer). */
export interface ConsumerMetrics {
  readonly consumed: ValueCell;
  readonly redelivered: ValueCell;
  readonly deadLettered: ValueCell;
  /** Set to the stream's pending count at each delivery. */
  readonly lag: ValueCell;
}

/** The cells of a mesh client's calls to one service. */
export interface ClientServiceMetrics {
  readonly budgetRefusals: ValueCell;
  readonly ejections: ValueCell;
}

/** What a worker pool reports at scrape time. */
export interface ComputePoolSource {
  /** Share of capacity used (0-1). */
  utilization(): number;
  /** Tasks waiting for a thread. */
  queueDepth(): number;
  /** Threads running. */
  threads(): number;
  /** Queue wait quantiles in milliseconds, or undefined when nothing ran yet. */
  queueWaitMs(): { readonly p50: number; readonly p99: number } | undefined;
}

/** The cells of a worker pool's finished tasks, by code number. */
export interface ComputeMetrics {
  /** Counts a finished task: `code` is the Connect code number (0 = ok). */
  taskDone(code: number): void;
}

/** A process's metrics. */
export interface Metrics {
  /** The prom-client registry (add your own metrics to it). */
  readonly registry: Registry;
  /** Content type of {@link render}'s text. */
  readonly contentType: string;
  /** The exposition text of every metric. */
  render(): Promise<string>;
  /** Server-side RPC cells (recorded by the host's call hooks, see createServerMetricsHooks). */
  readonly rpcServer: RpcSideMetrics;
  /** Client-side RPC cells (recorded by the mesh client). */
  readonly rpcClient: RpcSideMetrics;
  /** Shed-call counter of one reason. */
  shed(reason: ShedReason): ValueCell;
  /** A mesh client's cells for calls to `service`. */
  clientService(service: string): ClientServiceMetrics;
  /** Mesh client fallbacks from NATS to gRPC: how many, and their time in seconds (added at the end of each). */
  readonly natsFallback: { readonly fallbacks: ValueCell; readonly seconds: ValueCell };
  /** Cells of a publisher of `event` (a message type name). */
  publisher(event: string): PublishMetrics;
  /** Cells of `consumer` of `event`. */
  consumer(event: string, consumer: string): ConsumerMetrics;
  /** Cells of the cache named `name`. */
  cache(name: string): CacheMetrics;
  /** Reports a worker pool's state at every scrape; returns the cells its runs count in. */
  computePool(source: ComputePoolSource): ComputeMetrics;
}

function resolveOptions(o: MetricsOptions) {
  const maxServices = o.maxServices ?? 100;
  if (!Number.isInteger(maxServices) || maxServices < 1) throw new WeftOptionsError("WEFT_ERR_TELEMETRY_OPTIONS", "options.maxServices must be a positive integer");
  return { processMetrics: o.processMetrics ?? true, maxServices, defaultLabels: o.defaultLabels ?? {} };
}

/** Creates a process's metrics (one per process; parts record into it, `/metrics` renders it). */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const o = resolveOptions(options);
  const registry = new Registry();
  registry.setDefaultLabels({ ...o.defaultLabels });
  if (o.processMetrics) collectDefaultMetrics({ register: registry });
  const n = metricNames;
  const counter = (d: (typeof n)[keyof typeof n]) => new CounterFamily(d, registry);
  const gauge = (d: (typeof n)[keyof typeof n]) => new GaugeFamily(d, registry);
  const histogram = (d: (typeof n)[keyof typeof n]) => new HistogramFamily(d, latencyBucketsSeconds, registry);

  const rpcServer = new RpcSideMetrics({ requests: counter(n.rpcServerRequests), duration: histogram(n.rpcServerDuration), inFlight: gauge(n.rpcServerInFlight) }, o.maxServices);
  const rpcClient = new RpcSideMetrics(
    {
      requests: counter(n.rpcClientRequests),
      duration: histogram(n.rpcClientDuration),
      inFlight: gauge(n.rpcClientInFlight),
      retries: counter(n.rpcClientRetries),
      hedges: counter(n.rpcClientHedges),
    },
    o.maxServices,
  );
  const shedFamily = counter(n.rpcServerShed);
  const shedCells = new Map<ShedReason, ValueCell>(shedReasons.map((r) => [r, shedFamily.cell(r)]));
  const budgetRefusals = counter(n.rpcClientBudgetRefusals);
  const ejections = counter(n.rpcClientEjections);
  const natsFallback = { fallbacks: counter(n.rpcClientNatsFallbacks).cell(), seconds: counter(n.rpcClientNatsFallbackSeconds).cell() };
  const published = counter(n.eventsPublished);
  const consumed = counter(n.eventsConsumed);
  const redelivered = counter(n.eventsRedelivered);
  const deadLettered = counter(n.eventsDeadLettered);
  const lag = gauge(n.eventsConsumerLag);
  const hits = counter(n.cacheHits);
  const misses = counter(n.cacheMisses);
  const fills = counter(n.cacheFills);
  const bypasses = counter(n.cacheBypasses);
  let computeTasks: CounterFamily | undefined;
  const clientServices = new Map<string, ClientServiceMetrics>();

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),
    rpcServer,
    rpcClient,
    shed: (reason) => shedCells.get(reason)!,
    natsFallback,
    clientService(service) {
      let cells = clientServices.get(service);
      if (cells === undefined) {
        // Past maxServices distinct names, further services share the `unknown` cells.
        const label = clientServices.size < o.maxServices ? service : UNKNOWN_LABEL_VALUE;
        cells = { budgetRefusals: budgetRefusals.cell(label), ejections: ejections.cell(label) };
        if (label !== UNKNOWN_LABEL_VALUE) clientServices.set(service, cells);
      }
      return cells;
    },
    publisher: (event) => ({ published: published.cell(event) }),
    consumer: (event, name) => ({
      consumed: consumed.cell(event, name),
      redelivered: redelivered.cell(event, name),
      deadLettered: deadLettered.cell(event, name),
      lag: lag.cell(event, name),
    }),
    cache: (name) => ({
      hitsLocal: hits.cell(name, "local"),
      hitsShared: hits.cell(name, "shared"),
      misses: misses.cell(name),
      fills: fills.cell(name),
      bypasses: bypasses.cell(name),
    }),
    computePool(source) {
      const gaugeOf = (d: (typeof n)[keyof typeof n], read: (g: Gauge) => void) =>
        new Gauge({ name: d.name, help: d.help, labelNames: d.labels, registers: [registry], collect() { read(this); } });
      gaugeOf(n.computeUtilization, (g) => g.set(source.utilization()));
      gaugeOf(n.computeQueueDepth, (g) => g.set(source.queueDepth()));
      gaugeOf(n.computeThreads, (g) => g.set(source.threads()));
      gaugeOf(n.computeQueueWaitP50, (g) => g.set((source.queueWaitMs()?.p50 ?? 0) / 1000));
      gaugeOf(n.computeQueueWaitP99, (g) => g.set((source.queueWaitMs()?.p99 ?? 0) / 1000));
      computeTasks ??= counter(n.computeTasks);
      const family = computeTasks;
      const cells = rpcCodeNames.map(() => undefined as ValueCell | undefined);
      return {
        taskDone(code) {
          const c = code >= 0 && code < rpcCodeNames.length ? code : 2;
          (cells[c] ??= family.cell(rpcCodeNames[c])).value++;
        },
      };
    },
  };
}
