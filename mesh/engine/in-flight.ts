// Counts calls in progress so a drain can wait for them.

/** Counts calls in progress; `idle()` resolves when none are. */
export class InFlightTracker {
  #count = 0;
  #waiters: (() => void)[] = [];

  /** Calls in progress now. */
  get count(): number {
    return this.#count;
  }

  /** Marks a call as started; returns the function (idempotent) that marks it finished. */
  begin(): () => void {
    this.enter();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.leave();
    };
  }

  /** Marks a call as started (no allocation); the caller must call `leave()` exactly once. */
  enter(): void {
    this.#count++;
  }

  /** Marks a call started with `enter()` as finished. */
  leave(): void {
    if (this.#count === 0) return;
    this.#count--;
    if (this.#count === 0 && this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const wake of waiters) wake();
    }
  }

  /**
   * Resolves true when no call is in progress, or false when `timeoutMs` passes first. The timer keeps
   * the process alive on purpose: a draining process must not exit before its calls finish.
   */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.#count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      this.#waiters.push(wake);
    });
  }
}
