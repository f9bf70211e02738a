/** `closed`: calls go to Redis; `open`: they skip it; `half-open`: one probe call decides. */
export type BreakerState = "closed" | "open" | "half-open";

/** Settings of a CircuitBreaker. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** How long it stays open before letting one probe through. */
  readonly openMs: number;
  /** Told about every state change (for logs and metrics). */
  readonly onStateChange?: (state: BreakerState) => void;
}

/**
 * A small consecutive-failure circuit breaker. While open, callers skip the dependency entirely (no
 * queueing behind a dead connection); after `openMs` exactly one call probes it.
 */
export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  #state: BreakerState = "closed";
  #failures = 0;
  #openUntil = 0;
  #probing = false;

  constructor(options: CircuitBreakerOptions) {
    this.#options = options;
  }

  /** The current state. */
  get state(): BreakerState {
    return this.#state;
  }

  /** Whether a call may go to the dependency now; in half-open, true for exactly one caller. */
  allow(): boolean {
    if (this.#state === "closed") return true;
    if (this.#state === "open") {
      if (performance.now() < this.#openUntil) return false;
      this.#set("half-open");
    }
    if (this.#probing) return false;
    this.#probing = true;
    return true;
  }

  /** Records a successful call. */
  success(): void {
    this.#failures = 0;
    this.#probing = false;
    if (this.#state !== "closed") this.#set("closed");
  }

  /** Records a failed call (an error or a timeout). */
  failure(): void {
    this.#probing = false;
    this.#failures++;
    if (this.#state === "half-open" || this.#failures >= this.#options.failureThreshold) {
      this.#openUntil = performance.now() + this.#options.openMs;
      if (this.#state !== "open") this.#set("open");
    }
  }

  #set(state: BreakerState): void {
    this.#state = state;
    this.#options.onStateChange?.(state);
  }
}
