// Every telemetry name Weft emits, declared in one place: span names, span attribute keys and event
// names (OpenTelemetry semantic conventions for RPC and messaging, plus Weft's own `weft.*` keys).

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
