import { Code, ConnectError } from "@connectrpc/connect";

/** A task: a named export taking structured-cloneable input, returning output (or a promise of it). */
export type TaskFunction = (input: unknown) => unknown;

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
  if (!moduleUrl.startsWith("file:")) throw new TypeError(`moduleUrl must be a file: URL, got ${JSON.stringify(moduleUrl)}`);
  if (!name) throw new TypeError("name must be a non-empty export name");
}
