// Public entry of mesh/telemetry: tracing (OpenTelemetry SDK set up once per process from the OTEL_*
// environment, spans for RPC, events, cache and worker tasks), Prometheus metrics (one registry per
// process, served at `/metrics`), and the names every signal uses (names.ts).

export { SpanAttributes, SpanEventAttributes, SpanEvents, TRACER_NAME } from "./names.ts";
export type { TracingConfig } from "./tracing-config.ts";
export { readTracingConfig, TelemetryConfigError, WEFT_ERR_TELEMETRY_CONFIG } from "./tracing-config.ts";
export type { StartTracingOptions, Tracing } from "./tracing.ts";
export { startTracing } from "./tracing.ts";
export type { TracingCallHooksOptions } from "./span-hooks.ts";
export { createTracingCallHooks } from "./span-hooks.ts";
export type { ClientSpan } from "./client-span.ts";
export { endClientSpan, peerAttributes, startClientSpan, traceTransport } from "./client-span.ts";
export { connectCodeName, headersGetter, headersSetter, rpcSystemOf, setRpcOutcome } from "./rpc-span.ts";
export type { SpanData } from "./span-data.ts";
export type { MessageInfo } from "./span-messaging.ts";
export { startProcessSpan, startPublishSpan } from "./span-messaging.ts";
export type { TracedTaskResult, WorkerTracing } from "./worker-tracing.ts";
export { createWorkerTracing } from "./worker-tracing.ts";

/** A process's metrics: one registry, the runtime's families, the exposition text for `/metrics`. */
export { createMetrics } from "./metrics.ts";
/** The metrics contract and the cells each part of the runtime records into. */
export type {
  CacheMetrics,
  ClientServiceMetrics,
  ComputeMetrics,
  ComputePoolSource,
  ConsumerMetrics,
  Metrics,
  MetricsOptions,
  PublishMetrics,
} from "./metrics.ts";
/** Resolved per-method RPC cells of one side. */
export type { CallToken, MethodMetrics, RpcSideMetrics } from "./metrics-rpc.ts";
/** Plain cells behind the metric families. */
export type { HistogramCell, ValueCell } from "./metrics-cells.ts";
/** Server RPC metrics as host call hooks. */
export { createServerMetricsHooks } from "./metrics-server-hooks.ts";
/** WEFT_METRICS, the metrics switch of a process. */
export { readMetricsConfig } from "./metrics-config.ts";
export type { MetricsConfig } from "./metrics-config.ts";
/** Metric names, labels, bounded label values and buckets. */
export { latencyBucketsSeconds, metricLabels, metricNames, processMetricNames, rpcCodeNames, shedReasons, UNKNOWN_LABEL_VALUE } from "./names.ts";
export type { MetricDeclaration, ShedReason } from "./names.ts";
/** The admin API's bounded per-method RED window and the call hook that fills it. */
export { bucketOf, OTHER_CALLER, quantileMs, RED_BUCKET_BOUNDS_MS, RED_BUCKETS, RedWindow } from "./red-window.ts";
export type { RedSecond, RedSeries, RedSummary, RedWindowOptions } from "./red-window.ts";
export { createRedRecorder } from "./red-recorder.ts";
export type { RedRecorder, RedRecorderOptions } from "./red-recorder.ts";
