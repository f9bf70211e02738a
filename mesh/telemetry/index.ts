// Public entry of mesh/telemetry: tracing (OpenTelemetry SDK set up once per process from the OTEL_*
// environment, spans for RPC, events, cache and worker tasks) and the names every signal uses.

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
