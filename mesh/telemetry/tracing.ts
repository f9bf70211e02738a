// The process's tracing SDK: set up once by mesh/node or `npm start` before anything traces. The SDK
// is imported only when tracing is on, so a process without it neither loads nor pays for it.

import { context, propagation, trace, type Tracer } from "@opentelemetry/api";
import { TRACER_NAME } from "./names.ts";
import type { SpanData } from "./span-data.ts";
import type { TracingConfig } from "./tracing-config.ts";

/** A started tracing SDK. */
export interface Tracing {
  /** The tracer every Weft component of this process records with. */
  readonly tracer: Tracer;
  /** `service.name` of this process's spans. */
  readonly serviceName: string;
  /** Exports spans recorded elsewhere (worker threads) through this process's exporter. */
  exportSpans(spans: readonly SpanData[]): void;
  /** Sends every finished span now. */
  forceFlush(): Promise<void>;
  /** Sends what is left and stops exporting. */
  shutdown(): Promise<void>;
}

/** Options of {@link startTracing} besides the environment's config. */
export interface StartTracingOptions {
  /** `service.instance.id` of this process's spans. Default: none. */
  readonly instanceId?: string;
  /** Called when an export fails (the spans are dropped). Default: nothing. */
  readonly onError?: (err: unknown) => void;
}

/**
 * Starts the SDK (tracer provider with a batching OTLP HTTP/protobuf exporter, parent-based sampler,
 * W3C trace-context propagator, AsyncLocalStorage context manager) and registers it with
 * @opentelemetry/api. Returns undefined, loading nothing, when `config.enabled` is false.
 */
export async function startTracing(config: TracingConfig, options: StartTracingOptions = {}): Promise<Tracing | undefined> {
  if (!config.enabled) return undefined;
  const [sdk, { OTLPTraceExporter }, { AsyncLocalStorageContextManager }, core, { resourceFromAttributes }] = await Promise.all([
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/exporter-trace-otlp-proto"),
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
    import("@opentelemetry/resources"),
  ]);
  const { fromSpanData } = await import("./span-data.ts");
  const resource = resourceFromAttributes({
    ...config.resourceAttributes,
    "service.name": config.serviceName,
    ...(options.instanceId ? { "service.instance.id": options.instanceId } : {}),
    "telemetry.sdk.language": "nodejs",
    "telemetry.sdk.name": "opentelemetry",
  });
  const root = config.sampler === "always_on" ? new sdk.AlwaysOnSampler() : config.sampler === "always_off" ? new sdk.AlwaysOffSampler() : new sdk.TraceIdRatioBasedSampler(config.ratio);
  const sampler = config.parentBased ? new sdk.ParentBasedSampler({ root }) : root;
  const exporter = new OTLPTraceExporter({ url: config.tracesUrl });
  const onError = options.onError ?? (() => {});
  const processor = new sdk.BatchSpanProcessor({ exporter, scheduledDelayMillis: config.exportDelayMs });
  const provider = new sdk.TracerProvider({ resource, sampler, spanProcessors: [processor] });
  // The SDK reports export failures through the global error handler; route them to the caller.
  core.setGlobalErrorHandler(onError);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const scope = { name: TRACER_NAME };
  const tracer = provider.getTracer(TRACER_NAME);
  let stopped: Promise<void> | undefined;
  return {
    tracer,
    serviceName: config.serviceName,
    exportSpans(spans) {
      for (const data of spans) processor.onEnd(fromSpanData(data, resource, scope));
    },
    forceFlush: () => provider.forceFlush(),
    shutdown: () => (stopped ??= provider.shutdown().finally(() => {
      trace.disable();
      propagation.disable();
      context.disable();
    })),
  };
}
