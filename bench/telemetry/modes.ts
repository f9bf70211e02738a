// The telemetry modes the benchmark compares, as the environment a process is started with: the
// metrics switch (WEFT_METRICS) and the standard OpenTelemetry variables.

/** One telemetry mode. */
export interface TelemetryMode {
  /** Scenario id suffix. */
  readonly id: "off" | "red" | "metrics" | "metrics-trace1" | "trace100";
  readonly label: string;
  /** True when the mode exports spans (needs Jaeger and the tracing SDK). */
  readonly tracing: boolean;
  /** True when only the server side changes (no client scenario of its own). */
  readonly hostOnly?: boolean;
  /** The environment of the mode, given Jaeger's OTLP endpoint. */
  env(otlpEndpoint: string): Record<string, string>;
}

const tracingEnv = (ratio: string, otlpEndpoint: string) => ({
  OTEL_SDK_DISABLED: "false",
  OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
  OTEL_TRACES_SAMPLER_ARG: ratio,
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
});

/**
 * The admin API's per-method RED window and the inbound caller hooks, which mesh/node installs on every
 * service whatever the telemetry settings (bench/telemetry/host-server.ts reads this variable).
 */
export const RED_WINDOW_VARIABLE = "BENCH_RED_WINDOW";

/** Off, the RED window alone, metrics only, metrics + 1% tracing, metrics + 100% tracing. */
export const TELEMETRY_MODES: readonly TelemetryMode[] = [
  { id: "off", label: "telemetry off", tracing: false, env: () => ({ WEFT_METRICS: "off", OTEL_SDK_DISABLED: "true" }) },
  { id: "red", label: "admin RED window + inbound caller hooks (mesh/node always has them)", tracing: false, hostOnly: true, env: () => ({ WEFT_METRICS: "off", OTEL_SDK_DISABLED: "true", [RED_WINDOW_VARIABLE]: "on" }) },
  { id: "metrics", label: "metrics only", tracing: false, env: () => ({ WEFT_METRICS: "on", OTEL_SDK_DISABLED: "true" }) },
  { id: "metrics-trace1", label: "metrics + tracing 1%", tracing: true, env: (otlp) => ({ WEFT_METRICS: "on", ...tracingEnv("0.01", otlp) }) },
  { id: "trace100", label: "metrics + tracing 100% to Jaeger", tracing: true, env: (otlp) => ({ WEFT_METRICS: "on", ...tracingEnv("1", otlp) }) },
];

/** A one-line description of a process's telemetry settings, for the results. */
export function telemetryDetail(env: NodeJS.ProcessEnv): string {
  const metrics = env.WEFT_METRICS === "off" ? "metrics off" : "metrics on";
  const tracing = env.OTEL_SDK_DISABLED === "true" ? "tracing off" : `tracing ${env.OTEL_TRACES_SAMPLER ?? "default sampler"} ${env.OTEL_TRACES_SAMPLER_ARG ?? ""} to ${env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "(no endpoint)"}`;
  return `${metrics}, ${tracing}${env[RED_WINDOW_VARIABLE] === "on" ? ", RED window" : ""}`;
}
