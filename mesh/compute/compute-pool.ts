/** Options for one task. */
export interface RunOptions {
  /** Aborts the task: a queued task is dropped, a running one is stopped. */
  readonly signal?: AbortSignal;
}

/**
 * Runs CPU-heavy functions off the event loop. A task is a named export of a module (a file URL) that
 * takes structured-cloneable input and returns structured-cloneable output, with no I/O.
 * The inline pool (embedded default) and the piscina pool implement the same interface.
 */
export interface ComputePool {
  /** Runs `moduleUrl`'s export `name` with `input`. */
  run<Output>(moduleUrl: string, name: string, input: unknown, options?: RunOptions): Promise<Output>;
  /** Waits for running tasks, then stops the workers. */
  close(): Promise<void>;
}
