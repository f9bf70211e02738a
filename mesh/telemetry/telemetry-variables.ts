// The environment variables of the logger, metrics and tracing set-up, with their defaults: the --help
// of every process that reads them (npm start, each service's main) lists them from here.

import type { CommandVariable } from "../errors/index.ts";

/** LOG_LEVEL, WEFT_METRICS and every OTEL_* variable readTracingConfig reads, for --help. */
export const TELEMETRY_VARIABLES: readonly CommandVariable[] = Object.freeze([
  { name: "LOG_LEVEL", defaultText: "info", description: "debug, info, error or off; debug prints the stack under a start-up failure" },
  { name: "WEFT_METRICS", defaultText: "on", description: "off: no Prometheus metrics at /metrics" },
  { name: "OTEL_EXPORTER_OTLP_ENDPOINT", defaultText: "unset (tracing off)", description: "OTLP HTTP endpoint for traces, e.g. http://127.0.0.1:4318" },
  { name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", defaultText: "unset", description: "traces-only endpoint (wins over the base one)" },
  { name: "OTEL_TRACES_EXPORTER", defaultText: "otlp", description: "none turns tracing off" },
  { name: "OTEL_SERVICE_NAME", defaultText: "the service", description: "service.name of the spans" },
  { name: "OTEL_TRACES_SAMPLER", defaultText: "parentbased_always_on", description: "sampler; OTEL_TRACES_SAMPLER_ARG its ratio" },
  { name: "OTEL_TRACES_SAMPLER_ARG", defaultText: "1", description: "ratio of the ratio samplers" },
  { name: "OTEL_RESOURCE_ATTRIBUTES", defaultText: "none", description: "key=value,... added to every span" },
  { name: "OTEL_SDK_DISABLED", defaultText: "false", description: "true turns tracing off" },
  { name: "OTEL_BSP_SCHEDULE_DELAY", defaultText: "1000", description: "most ms a finished span waits before export" },
]);
