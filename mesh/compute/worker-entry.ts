// The piscina worker's entry: imports the task module named in the message and calls its export.
// Node caches the import, so a module loads once per worker thread.
import { loadTask } from "./task-module.ts";

/** What the pool posts for one task. */
export interface TaskMessage {
  readonly moduleUrl: string;
  readonly name: string;
  readonly input: unknown;
  /** The caller's trace context (W3C `traceparent` / `tracestate`), handed to the task as its second argument. */
  readonly trace: Readonly<Record<string, string>>;
}

/** Runs one task on this worker thread. */
export default async function runTask(message: TaskMessage): Promise<unknown> {
  const fn = await loadTask(message.moduleUrl, message.name);
  return fn(message.input, { trace: message.trace });
}
