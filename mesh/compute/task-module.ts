import { Code, ConnectError } from "@connectrpc/connect";
import { ComputeOptionsError } from "../errors/index.ts";

/** What a task learns besides its input. */
export interface TaskContext {
  /** The caller's trace context as W3C headers (`traceparent`, `tracestate`); empty without a propagator. */
  readonly trace: Readonly<Record<string, string>>;
}

/**
 * A task: a named export taking structured-cloneable input (and a TaskContext), returning
 * structured-cloneable output or a promise of it. CPU only: no I/O in tasks.
 */
export type TaskFunction = (input: unknown, context: TaskContext) => unknown;

/** Imports `moduleUrl` and returns its export `name`, failing with a message naming both when it is not a function. */
export async function loadTask(moduleUrl: string, name: string): Promise<TaskFunction> {
  const mod = (await import(moduleUrl)) as Record<string, unknown>;
  const fn = mod[name];
  if (typeof fn !== "function") {
    throw new ConnectError(`task ${name} is not a function exported by ${moduleUrl}`, Code.Internal);
  }
  return fn as TaskFunction;
}

/** Fails fast on a task reference that can never load, naming the bad argument. */
export function checkTaskRef(moduleUrl: string, name: string): void {
  if (!moduleUrl.startsWith("file:")) throw new ComputeOptionsError(`moduleUrl must be a file: URL, got ${JSON.stringify(moduleUrl)}`);
  if (!name) throw new ComputeOptionsError("name must be a non-empty export name");
}
