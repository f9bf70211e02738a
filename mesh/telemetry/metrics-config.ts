// The metrics switch of a process, read from its environment: WEFT_METRICS=on|off (default on).

import { TelemetryConfigError } from "./tracing-config.ts";

/** What a process's main reads to decide whether to create metrics. */
export interface MetricsConfig {
  /** False when WEFT_METRICS=off: no metrics are created, recorded or served. */
  readonly enabled: boolean;
}

/** Reads WEFT_METRICS ("on", "off", "true", "false", "1", "0"; default on); throws TelemetryConfigError otherwise. */
export function readMetricsConfig(env: NodeJS.ProcessEnv): MetricsConfig {
  const raw = env.WEFT_METRICS?.trim().toLowerCase() || "on";
  if (raw === "on" || raw === "true" || raw === "1") return { enabled: true };
  if (raw === "off" || raw === "false" || raw === "0") return { enabled: false };
  throw new TelemetryConfigError(`WEFT_METRICS is ${JSON.stringify(env.WEFT_METRICS)}, set WEFT_METRICS to "on" or "off"`);
}
