// Public entry of mesh/telemetry: Prometheus metrics (and, with tracing, spans and logs), every name
// declared in names.ts.

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
