import { Code, ConnectError } from "@connectrpc/connect";
import { abortError, raceAbort } from "../errors/index.ts";
import type { ComputePool, RunOptions } from "./compute-pool.ts";
import { poolToConnectError } from "./piscina-errors.ts";
import { checkTaskRef, loadTask } from "./task-module.ts";
import { traceCarrier } from "./trace-carrier.ts";

/**
 * Runs tasks on the calling thread (the embedded default for `npm start` and tests): same interface,
 * copy semantics (input and output are structured-cloned) and error codes as the piscina pool, but a
 * task blocks the event loop while it runs. An aborted signal drops a task before it starts; once a
 * synchronous task has started it runs to completion, and the caller is answered as soon as the
 * signal aborts.
 */
export function createInlineComputePool(): ComputePool {
  const running = new Set<Promise<unknown>>();
  let closed = false;

  return {
    async run<Output>(moduleUrl: string, name: string, input: unknown, options: RunOptions = {}): Promise<Output> {
      checkTaskRef(moduleUrl, name);
      if (closed) throw new ConnectError("compute pool is closed", Code.Unavailable);
      const { signal } = options;
      if (signal?.aborted) throw abortError(signal);
      const trace = traceCarrier();
      const task = (async () => {
        const fn = await loadTask(moduleUrl, name);
        if (signal?.aborted) throw abortError(signal);
        try {
          return structuredClone(await fn(structuredClone(input), { trace })) as Output;
        } catch (err) {
          throw poolToConnectError(err, signal);
        }
      })();
      running.add(task);
      const forget = () => running.delete(task);
      task.then(forget, forget);
      return raceAbort(task, signal);
    },

    async close() {
      closed = true;
      await Promise.allSettled([...running]);
    },
  };
}
