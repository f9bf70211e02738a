// The time limit to receive a request's body, for every single-message call on every protocol, kept
// by one sweep per engine rather than a timer per call (the hot path allocates no timers).

/** A call waiting for its request body. */
export interface BodyWaiter {
  /** performance.now() when the call started waiting; -1 when not waiting. */
  bodySince: number;
  /** The body did not arrive in time: answer and drop the request. */
  bodyTimedOut(timeoutMs: number): void;
}

/** Longest pause between two sweeps. */
const MAX_SWEEP_MS = 1_000;

/**
 * Calls waiting for their request body; a sweep every min(timeoutMs / 4, 1 s) times out those that
 * waited `timeoutMs`, so a call goes between timeoutMs and timeoutMs plus one sweep.
 */
export class BodyDeadlines {
  readonly timeoutMs: number;
  readonly #waiting = new Set<BodyWaiter>();
  readonly #timer: NodeJS.Timeout;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    this.#timer = setInterval(() => this.#sweep(), Math.max(10, Math.min(MAX_SWEEP_MS, Math.floor(timeoutMs / 4))));
    this.#timer.unref();
  }

  /** The call starts waiting for its body. */
  wait(call: BodyWaiter): void {
    call.bodySince = performance.now();
    this.#waiting.add(call);
  }

  /** The call's body is in, or the call is over. */
  done(call: BodyWaiter): void {
    call.bodySince = -1;
    this.#waiting.delete(call);
  }

  /** Stops sweeping (the engine detached). */
  stop(): void {
    clearInterval(this.#timer);
    this.#waiting.clear();
  }

  #sweep(): void {
    if (this.#waiting.size === 0) return;
    const now = performance.now();
    for (const call of this.#waiting) {
      if (now - call.bodySince < this.timeoutMs) continue;
      this.done(call);
      call.bodyTimedOut(this.timeoutMs);
    }
  }
}
