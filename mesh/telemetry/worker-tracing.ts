// Tracing inside a worker thread: a span per task, recorded by an SDK in the thread and parented to the
// caller's context (the trace carrier the task brings), handed back as plain data with the task's
// result. The main thread exports it with its own exporter: no exporter, connection or timer per
// thread, and nothing lost when piscina ends an idle thread.

import { threadId } from "node:worker_threads";
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { SpanAttributes, TRACER_NAME } from "./names.ts";
import type { SpanData } from "./span-data.ts";

/** What a traced task returns to the main thread. */
export interface TracedTaskResult {
  readonly output: unknown;
  /** Spans finished in the worker during the task (its run span and any child). */
  readonly spans: readonly SpanData[];
  /** When the worker started the task (epoch ms): the queue wait ends here. */
  readonly startedAtMs: number;
}

/** The tracing SDK of one worker thread. */
export interface WorkerTracing {
  /** Runs `fn` in a span named after the task, child of `carrier`'s context; returns its output and the spans. */
  run(name: string, carrier: Readonly<Record<string, string>>, fn: () => unknown): Promise<TracedTaskResult>;
}

/**
 * Sets up the worker thread's SDK (once per thread, by the worker's entry): a provider that keeps
 * finished spans for the task that made them, the W3C propagator and an AsyncLocalStorage context.
 */
export async function createWorkerTracing(): Promise<WorkerTracing> {
  const [sdk, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, { toSpanData }] = await Promise.all([
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
    import("./span-data.ts"),
  ]);
  // One task at a time per thread (concurrentTasksPerWorker: 1): what finished belongs to the current task.
  const finished: SpanData[] = [];
  const collector = {
    onStart() {},
    onEnd(span: Parameters<typeof toSpanData>[0]) {
      finished.push(toSpanData(span));
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  // The main thread sampled the caller; the worker follows its decision.
  const provider = new sdk.TracerProvider({ sampler: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }), spanProcessors: [collector] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  const tracer = provider.getTracer(TRACER_NAME);
  return {
    async run(name, carrier, fn) {
      const parent = propagation.extract(ROOT_CONTEXT, carrier);
      const startedAtMs = performance.timeOrigin + performance.now();
      const span = tracer.startSpan(`compute.run ${name}`, {
        kind: SpanKind.INTERNAL,
        attributes: { [SpanAttributes.weftTaskName]: name, [SpanAttributes.weftThreadId]: threadId },
      }, parent);
      finished.length = 0;
      try {
        const output = await context.with(trace.setSpan(parent, span), fn);
        span.end();
        return { output, spans: finished.splice(0), startedAtMs };
      } catch (err) {
        // The error goes back as the task's failure; the main thread's span records it.
        span.setStatus({ code: SpanStatusCode.ERROR, message: "the task failed" });
        span.end();
        finished.length = 0;
        throw err;
      }
    },
  };
}
