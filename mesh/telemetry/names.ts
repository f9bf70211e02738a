// Every telemetry name Weft emits, declared in one place: span names, span attribute keys and event
// names (OpenTelemetry semantic conventions for RPC and messaging, plus Weft's own `weft.*` keys), and
// metric names with their help, labels and bounded label values. docs/observability.md lists them all.

/** The instrumentation scope of every Weft span. */
export const TRACER_NAME = "weft";

// ---- Spans: attribute keys ------------------------------------------------------------------------

/** Span attribute keys (semantic conventions where one exists, `weft.*` otherwise). */
export const SpanAttributes = {
  /** "grpc" for gRPC and gRPC-Web calls, "connect_rpc" for Connect, Connect over NATS and in-process. */
  rpcSystem: "rpc.system",
  /** Fully qualified service, e.g. "shop.orders.v1.OrderService". */
  rpcService: "rpc.service",
  /** Method name, e.g. "PlaceOrder". */
  rpcMethod: "rpc.method",
  /** Numeric gRPC status code (0 on success), on gRPC calls. */
  rpcGrpcStatusCode: "rpc.grpc.status_code",
  /** Connect error code ("not_found", ...), on failed Connect calls. */
  rpcConnectErrorCode: "rpc.connect_rpc.error_code",
  /** The peer's host (client spans: the endpoint called). */
  serverAddress: "server.address",
  /** The peer's port (client spans). */
  serverPort: "server.port",
  /** "nats" for JetStream and Connect over NATS. */
  messagingSystem: "messaging.system",
  /** Subject or stream the event goes to / comes from. */
  messagingDestination: "messaging.destination.name",
  /** "publish" / "process" / "send". */
  messagingOperationType: "messaging.operation.type",
  /** The event's id (CloudEvents ce-id, also the dedupe key). */
  messagingMessageId: "messaging.message.id",
  /** Durable consumer name. */
  messagingConsumerGroup: "messaging.consumer.group.name",
  /** Which delivery this is (1 = first; more = a redelivery). */
  messagingDeliveryCount: "messaging.nats.message.delivery_count",
  /** "redis" for the Redis cache, "memory" for the in-process one. */
  dbSystem: "db.system.name",
  /** Wire protocol of a server call: "connect", "grpc", "grpc-web", "nats", "in-process". */
  weftProtocol: "weft.rpc.protocol",
  /** The instance id of the endpoint a client attempt went to. */
  weftInstance: "weft.instance.id",
  /** Attempt number of a client call (0 = first; more = retries). */
  weftAttempt: "weft.rpc.attempt",
  /** True on a hedged attempt (sent because the first was slow). */
  weftHedge: "weft.rpc.hedge",
  /** Event type (Protobuf type name). */
  weftEventType: "weft.event.type",
  /** Cache outcome: "hit", "miss" (then filled), "join" (waited for another caller's fill), "bypass". */
  weftCacheResult: "weft.cache.result",
  /** Compute task: module export name. */
  weftTaskName: "weft.compute.task",
  /** Compute task: milliseconds the task waited for a worker thread. */
  weftTaskQueueMs: "weft.compute.queue_ms",
  /** Compute task: the worker thread's id (Node's threadId) the task ran on. */
  weftThreadId: "thread.id",
} as const;

// ---- Spans: event names ---------------------------------------------------------------------------

/** Span event names. */
export const SpanEvents = {
  /** On a client call span: an attempt failed and the call retries (attributes: code, attempt). */
  retry: "weft.retry",
  /** On a client call span: a hedged attempt was sent. */
  hedge: "weft.hedge",
  /** On a client attempt span: the endpoint was ejected by outlier detection after this failure. */
  ejected: "weft.endpoint.ejected",
  /** On a consumer span: the event was dead-lettered (attribute: reason). */
  deadLetter: "weft.event.dead_letter",
  /** On a consumer span: the handler failed and the event will be redelivered (attribute: delay). */
  redeliver: "weft.event.redeliver",
} as const;

/** Attribute keys of span events. */
export const SpanEventAttributes = {
  code: "rpc.connect_rpc.error_code",
  attempt: "weft.rpc.attempt",
  reason: "weft.reason",
  delayMs: "weft.delay_ms",
} as const;

// ---- Metrics (Prometheus): units in the name, `_total` on counters, seconds for durations --------

/** The value an unknown service or method collapses to, so label values stay bounded. */
export const UNKNOWN_LABEL_VALUE = "unknown";

/** Metric label names. */
export const metricLabels = {
  /** Fully qualified service name, e.g. "shop.catalog.v1.CatalogService" (or `unknown`). */
  service: "service",
  /** Method name, e.g. "GetProduct" (or `unknown`). */
  method: "method",
  /** Connect code name ("ok" for success): one of {@link rpcCodeNames}. */
  code: "code",
  /** Why a server shed a call: one of {@link shedReasons}. */
  reason: "reason",
  /** Event type (fully qualified message name). */
  event: "event",
  /** Durable consumer name. */
  consumer: "consumer",
  /** Cache name (the cache's `metricsName` option, default its key prefix). */
  cache: "cache",
  /** Where a cache hit was served from: "local" (in-process copy) or "shared" (Redis or memory). */
  tier: "tier",
} as const;

/** Label values of `code`, indexed by the Connect `Code` number (0 is success). */
export const rpcCodeNames = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
] as const;

/** Label values of `reason` on shed calls. */
export const shedReasons = ["concurrency_limit", "event_loop"] as const;
/** Why a server shed a call. */
export type ShedReason = (typeof shedReasons)[number];

/** Latency histogram buckets, in seconds: 0.5 ms to 10 s. */
export const latencyBucketsSeconds: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One metric's declaration. */
export interface MetricDeclaration {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram" | "summary";
  readonly labels: readonly string[];
}

const { service, method, code, reason, event, consumer, cache, tier } = metricLabels;

/** Every metric Weft's runtime records (process and Node.js metrics come from prom-client's defaults). */
export const metricNames = {
  rpcServerRequests: { name: "weft_rpc_server_requests_total", type: "counter", labels: [service, method, code], help: "RPCs served, by outcome." },
  rpcServerDuration: { name: "weft_rpc_server_duration_seconds", type: "histogram", labels: [service, method, code], help: "Time from admission to the end of a served RPC." },
  rpcServerInFlight: { name: "weft_rpc_server_in_flight", type: "gauge", labels: [service, method], help: "RPCs being served now." },
  rpcServerShed: { name: "weft_rpc_server_shed_total", type: "counter", labels: [reason], help: "Calls refused by load shedding before any handler ran." },
  rpcClientRequests: { name: "weft_rpc_client_requests_total", type: "counter", labels: [service, method, code], help: "RPCs made through the mesh client (all attempts of a call count once), by outcome." },
  rpcClientDuration: { name: "weft_rpc_client_duration_seconds", type: "histogram", labels: [service, method, code], help: "Time of a mesh client call, retries and hedges included." },
  rpcClientInFlight: { name: "weft_rpc_client_in_flight", type: "gauge", labels: [service, method], help: "Mesh client calls in progress." },
  rpcClientRetries: { name: "weft_rpc_client_retries_total", type: "counter", labels: [service, method], help: "Retry attempts sent by the mesh client." },
  rpcClientHedges: { name: "weft_rpc_client_hedges_total", type: "counter", labels: [service, method], help: "Hedged attempts sent by the mesh client." },
  rpcClientBudgetRefusals: { name: "weft_rpc_client_retry_budget_refusals_total", type: "counter", labels: [service], help: "Retries or hedges not sent because the retry budget was spent." },
  rpcClientEjections: { name: "weft_rpc_client_ejections_total", type: "counter", labels: [service], help: "Endpoints ejected by outlier detection." },
  rpcClientNatsFallbacks: { name: "weft_rpc_client_nats_fallbacks_total", type: "counter", labels: [], help: "Times the mesh client lost NATS and sent its NATS calls over gRPC (HTTP/2) instead." },
  rpcClientNatsFallbackSeconds: { name: "weft_rpc_client_nats_fallback_seconds_total", type: "counter", labels: [], help: "Time the mesh client spent on the gRPC fallback, counted when NATS came back." },
  eventsPublished: { name: "weft_events_published_total", type: "counter", labels: [event], help: "Events published (stored by the broker)." },
  eventsConsumed: { name: "weft_events_consumed_total", type: "counter", labels: [event, consumer], help: "Events handled and acknowledged." },
  eventsRedelivered: { name: "weft_events_redelivered_total", type: "counter", labels: [event, consumer], help: "Deliveries of an event that had been delivered before." },
  eventsDeadLettered: { name: "weft_events_dead_lettered_total", type: "counter", labels: [event, consumer], help: "Events moved to the dead-letter subject." },
  eventsConsumerLag: { name: "weft_events_consumer_lag_messages", type: "gauge", labels: [event, consumer], help: "Events in the stream not yet delivered to the consumer, at its last delivery." },
  cacheHits: { name: "weft_cache_hits_total", type: "counter", labels: [cache, tier], help: "Cache lookups answered from the cache." },
  cacheMisses: { name: "weft_cache_misses_total", type: "counter", labels: [cache], help: "Cache lookups that ran the loader (one per key under a stampede)." },
  cacheFills: { name: "weft_cache_fills_total", type: "counter", labels: [cache], help: "Loaded values stored in the cache." },
  cacheBypasses: { name: "weft_cache_bypasses_total", type: "counter", labels: [cache], help: "Lookups served from the source because the cache store was down (breaker open or failed read)." },
  computeUtilization: { name: "weft_compute_utilization_ratio", type: "gauge", labels: [], help: "Share of the worker pool's capacity in use since it started (0-1)." },
  computeQueueDepth: { name: "weft_compute_queue_depth", type: "gauge", labels: [], help: "Tasks waiting for a worker thread." },
  computeThreads: { name: "weft_compute_threads", type: "gauge", labels: [], help: "Worker threads running." },
  computeQueueWaitP50: { name: "weft_compute_queue_wait_p50_seconds", type: "gauge", labels: [], help: "Median time tasks waited for a worker thread, since the pool started." },
  computeQueueWaitP99: { name: "weft_compute_queue_wait_p99_seconds", type: "gauge", labels: [], help: "99th percentile of the time tasks waited for a worker thread, since the pool started." },
  computeTasks: { name: "weft_compute_tasks_total", type: "counter", labels: [code], help: "Worker-pool tasks finished, by outcome." },
} as const satisfies Record<string, MetricDeclaration>;

/**
 * Process metrics served next to Weft's own (prom-client's default set; the ones operators use first).
 * Event-loop delay and memory come from here.
 */
export const processMetricNames = [
  "process_cpu_seconds_total",
  "process_resident_memory_bytes",
  "nodejs_heap_size_used_bytes",
  "nodejs_heap_size_total_bytes",
  "nodejs_external_memory_bytes",
  "nodejs_eventloop_lag_seconds",
  "nodejs_eventloop_lag_p99_seconds",
  "nodejs_gc_duration_seconds",
] as const;
