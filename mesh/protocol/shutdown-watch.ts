// The server's shutdown reaching every call whose handler holds a signal, through one listener on the
// shutdown signal: a listener per call meant each call walked the signal's listener list (every call
// in flight) to add its own and again to remove it.

/** A call the shutdown must abort. */
export interface ShutdownTarget {
  /** Aborts the call because the server is shutting down. */
  abortForShutdown(): void;
}

/** The calls to abort when `signal` aborts. */
export class ShutdownWatch {
  readonly #signal: AbortSignal;
  readonly #calls = new Set<ShutdownTarget>();
  #listening = false;

  constructor(signal: AbortSignal) {
    this.#signal = signal;
  }

  /** True once the server is shutting down. */
  get aborted(): boolean {
    return this.#signal.aborted;
  }

  /** Aborts `call` at shutdown unless it is removed first. */
  add(call: ShutdownTarget): void {
    this.#calls.add(call);
    if (this.#listening) return;
    // Listening from the first call on, as the per-call listeners did, not from the engine's creation.
    this.#listening = true;
    this.#signal.addEventListener("abort", () => {
      for (const c of this.#calls) c.abortForShutdown();
      this.#calls.clear();
    }, { once: true });
  }

  /** Forgets `call` (it ended). */
  delete(call: ShutdownTarget): void {
    this.#calls.delete(call);
  }
}
