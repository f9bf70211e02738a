import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { Piscina } from "piscina";
import { abortError, ComputeOptionsError } from "../errors/index.ts";
import type { ComputePool, RunOptions } from "./compute-pool.ts";
import { poolToConnectError } from "./piscina-errors.ts";
import { checkTaskRef } from "./task-module.ts";
import { traceCarrier } from "./trace-carrier.ts";
import type { WorkerStart } from "./thread-priority.ts";
import type { TaskMessage } from "./worker-entry.ts";
import type { Metrics } from "../telemetry/index.ts";
import { SpanAttributes, type TracedTaskResult, type Tracing } from "../telemetry/index.ts";
import { redactText } from "../engine/index.ts";

/** Options for `createPiscinaComputePool`. */
export interface PiscinaComputePoolOptions {
  /** Worker threads. Default `os.availableParallelism()`. */
  readonly maxThreads?: number;
  /** Threads kept alive when idle. Default 1. */
  readonly minThreads?: number;
  /** Tasks that may wait for a thread; one more answers RESOURCE_EXHAUSTED. Default 4 × maxThreads. */
  readonly maxQueue?: number;
  /** An idle thread above minThreads exits after this long. Default 30,000. */
  readonly idleTimeoutMs?: number;
  /**
   * How much lower than the event loop's the worker threads' CPU priority (nice value) runs, 0-19, so a
   * saturated pool cannot hold the event loop off a core (calls, heartbeats, health checks). Linux
   * only (elsewhere the threads keep the process's priority). Default 10; 0 = the same priority.
   */
  readonly niceIncrement?: number;
  /** Heap limit per worker thread, in MB. Default: Node's. */
  readonly maxOldGenerationSizeMb?: number;
  /** Called when a worker fails outside any task (the pool replaces it). Default: nothing. */
  readonly onError?: (err: unknown) => void;
  /** Where utilisation, queue depth, queue wait and finished tasks are reported (mesh/telemetry). Default: none. */
  readonly metrics?: Metrics;
  /**
   * The process's tracing (mesh/telemetry): each task gets a span here (queue wait included) and one
   * recorded in its worker thread (run time), exported by this process. Default none.
   */
  readonly tracing?: Pick<Tracing, "tracer" | "exportSpans">;
}

/** How long `close()` waits for running tasks before terminating the threads. */
const CLOSE_TIMEOUT_MS = 30_000;

function parseOptions(o: PiscinaComputePoolOptions) {
  const maxThreads = o.maxThreads ?? availableParallelism();
  const minThreads = o.minThreads ?? 1;
  const maxQueue = o.maxQueue ?? 4 * maxThreads;
  const idleTimeoutMs = o.idleTimeoutMs ?? 30_000;
  const niceIncrement = o.niceIncrement ?? 10;
  if (!Number.isInteger(maxThreads) || maxThreads < 1) throw new ComputeOptionsError("options.maxThreads must be a positive integer");
  if (!Number.isInteger(minThreads) || minThreads < 0 || minThreads > maxThreads) {
    throw new ComputeOptionsError("options.minThreads must be an integer from 0 to maxThreads");
  }
  if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new ComputeOptionsError("options.maxQueue must be a non-negative integer");
  if (!Number.isFinite(idleTimeoutMs) || idleTimeoutMs < 0) throw new ComputeOptionsError("options.idleTimeoutMs must be a non-negative number");
  if (!Number.isInteger(niceIncrement) || niceIncrement < 0 || niceIncrement > 19) {
    throw new ComputeOptionsError("options.niceIncrement must be an integer from 0 to 19");
  }
  const heap = o.maxOldGenerationSizeMb;
  if (heap !== undefined && (!Number.isInteger(heap) || heap < 16)) {
    throw new ComputeOptionsError("options.maxOldGenerationSizeMb must be an integer of at least 16");
  }
  return { maxThreads, minThreads, maxQueue, idleTimeoutMs, niceIncrement, heap };
}

/**
 * A piscina worker pool for CPU-heavy handlers (one per process: several pools would fight for the
 * same cores). Each task runs one at a time on a thread; at most `maxQueue` wait, beyond that a run
 * fails fast with RESOURCE_EXHAUSTED rather than queueing forever. The caller's signal drops a queued
 * task and terminates the thread of a running one (piscina starts a fresh thread). A task that crashes
 * its thread fails alone: piscina replaces the thread and the other tasks carry on.
 */
export function createPiscinaComputePool(options: PiscinaComputePoolOptions = {}): ComputePool {
  const o = parseOptions(options);
  const onError = options.onError ?? (() => {});
  const piscina = new Piscina<TaskMessage, unknown>({
    filename: fileURLToPath(new URL("./worker-entry.ts", import.meta.url)),
    maxThreads: o.maxThreads,
    minThreads: o.minThreads,
    maxQueue: o.maxQueue,
    idleTimeout: o.idleTimeoutMs,
    concurrentTasksPerWorker: 1,
    closeTimeout: CLOSE_TIMEOUT_MS,
    workerData: { niceIncrement: o.niceIncrement } satisfies WorkerStart,
    ...(o.heap ? { resourceLimits: { maxOldGenerationSizeMb: o.heap } } : {}),
  });
  // A worker failing with no task of its own is reported here instead of crashing the process.
  piscina.on("error", onError);
  let closed = false;
  const tasks = options.metrics?.computePool({
    utilization: () => piscina.utilization,
    queueDepth: () => piscina.queueSize,
    threads: () => piscina.threads.length,
    queueWaitMs: () => piscina.histogram?.waitTime,
  });

  // One task on a thread; with tracing, a span here (queue wait) and one from the worker (run time).
  async function runTask<Output>(moduleUrl: string, name: string, input: unknown, signal: AbortSignal | undefined): Promise<Output> {
    const tracing = options.tracing;
    if (tracing === undefined) {
      try {
        return (await piscina.run({ moduleUrl, name, input, trace: traceCarrier() }, { signal: signal ?? null })) as Output;
      } catch (err) {
        throw poolToConnectError(err, signal);
      }
    }
    const span = tracing.tracer.startSpan(`compute ${name}`, { kind: SpanKind.INTERNAL, attributes: { [SpanAttributes.weftTaskName]: name } });
    const submittedAtMs = performance.timeOrigin + performance.now();
    const carrier = context.with(trace.setSpan(context.active(), span), traceCarrier);
    try {
      const traced = span.isRecording();
      const result = await piscina.run({ moduleUrl, name, input, trace: carrier, traced }, { signal: signal ?? null });
      if (!traced) return result as Output;
      const { output, spans, startedAtMs } = result as TracedTaskResult;
      span.setAttribute(SpanAttributes.weftTaskQueueMs, Math.max(0, startedAtMs - submittedAtMs));
      tracing.exportSpans(spans);
      return output as Output;
    } catch (err) {
      const ce = poolToConnectError(err, signal);
      span.setStatus({ code: SpanStatusCode.ERROR, message: redactText(ce.rawMessage) });
      throw ce;
    } finally {
      span.end();
    }
  }

  return {
    async run<Output>(moduleUrl: string, name: string, input: unknown, runOptions: RunOptions = {}): Promise<Output> {
      checkTaskRef(moduleUrl, name);
      if (closed) throw new ConnectError("compute pool is closed", Code.Unavailable);
      const { signal } = runOptions;
      if (signal?.aborted) throw abortError(signal);
      if (tasks === undefined) return runTask<Output>(moduleUrl, name, input, signal);
      try {
        const output = await runTask<Output>(moduleUrl, name, input, signal);
        tasks.taskDone(0);
        return output;
      } catch (err) {
        tasks.taskDone(err instanceof ConnectError ? err.code : Code.Unknown);
        throw err;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await piscina.close();
    },
  };
}
