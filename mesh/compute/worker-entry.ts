// The piscina worker's entry: imports the task module named in the message and calls its export.
// Node caches the import, so a module loads once per worker thread.
import type { WorkerTracing } from "../telemetry/index.ts";
import { loadTask } from "./task-module.ts";
import { applyWorkerPriority } from "./thread-priority.ts";

applyWorkerPriority();

/** What the pool posts for one task. */
export interface TaskMessage {
  readonly moduleUrl: string;
  readonly name: string;
  readonly input: unknown;
  /** The caller's trace context (W3C `traceparent` / `tracestate`), handed to the task as its second argument. */
  readonly trace: Readonly<Record<string, string>>;
  /** True to record the task's span in this thread and return it with the output (a TracedTaskResult). */
  readonly traced?: boolean;
}

// This thread's tracing SDK, loaded by its first traced task: one per thread, like the thread's module cache.
let workerTracing: Promise<WorkerTracing> | undefined;

/** Runs one task on this worker thread. */
export default async function runTask(message: TaskMessage): Promise<unknown> {
  const fn = await loadTask(message.moduleUrl, message.name);
  if (message.traced !== true) return fn(message.input, { trace: message.trace });
  workerTracing ??= import("../telemetry/index.ts").then((m) => m.createWorkerTracing());
  const tracing = await workerTracing;
  return tracing.run(message.name, message.trace, () => fn(message.input, { trace: message.trace }));
}
