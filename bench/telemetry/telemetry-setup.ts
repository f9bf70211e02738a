// A benchmark process's telemetry, set up from its environment the way mesh/node sets up a service's:
// WEFT_METRICS for the metrics, the OTEL_* variables for tracing.

import type { ServerCallHooks } from "../../mesh/host/index.ts";
import { createMetrics, createServerMetricsHooks, readMetricsConfig, type Metrics } from "../../mesh/telemetry/index.ts";
import { announceUnavailable } from "../servers/child-protocol.ts";

/** What a benchmark server or client wires in. */
export interface BenchTelemetry {
  readonly metrics: Metrics | undefined;
  /** The host's call hooks for server-side telemetry (empty when all is off). */
  readonly callHooks: readonly ServerCallHooks[];
  /** Flushes and stops what was started. */
  close(): Promise<void>;
}

/** Sets up telemetry from `env`; reports the scenario unavailable when it asks for tracing this tree lacks. */
export async function setUpTelemetry(env: NodeJS.ProcessEnv): Promise<BenchTelemetry> {
  const metrics = readMetricsConfig(env).enabled ? createMetrics() : undefined;
  if (env.OTEL_SDK_DISABLED !== undefined && env.OTEL_SDK_DISABLED !== "true") {
    announceUnavailable("tracing is not built in this tree");
  }
  return { metrics, callHooks: metrics === undefined ? [] : [createServerMetricsHooks(metrics)], close: async () => {} };
}
