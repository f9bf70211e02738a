// A benchmark process's telemetry, set up from its environment the way mesh/node sets up a service's:
// WEFT_METRICS for the metrics, the OTEL_* variables for tracing; the server hooks in mesh/node's order.

import type { Tracer } from "@opentelemetry/api";
import type { ServerCallHooks } from "../../mesh/host/index.ts";
import { createMetrics, createServerMetricsHooks, createTracingCallHooks, readMetricsConfig, readTracingConfig, startTracing, type Metrics } from "../../mesh/telemetry/index.ts";

/** What a benchmark server or client wires in. */
export interface BenchTelemetry {
  readonly metrics: Metrics | undefined;
  readonly tracer: Tracer | undefined;
  /** The host's call hooks for server-side telemetry (empty when all is off). */
  readonly callHooks: readonly ServerCallHooks[];
  /** Flushes and stops what was started. */
  close(): Promise<void>;
}

/** Sets up telemetry from `env` for a process named `serviceName`. */
export async function setUpTelemetry(env: NodeJS.ProcessEnv, serviceName: string): Promise<BenchTelemetry> {
  const metrics = readMetricsConfig(env).enabled ? createMetrics() : undefined;
  const tracing = await startTracing(readTracingConfig(env, serviceName));
  const tracer = tracing?.tracer;
  return {
    metrics,
    tracer,
    callHooks: [...(tracer === undefined ? [] : [createTracingCallHooks({ tracer })]), ...(metrics === undefined ? [] : [createServerMetricsHooks(metrics)])],
    close: async () => {
      await tracing?.shutdown();
    },
  };
}
