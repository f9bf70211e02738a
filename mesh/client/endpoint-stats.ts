// What the balancer learns about an endpoint from the calls it sends there: outstanding requests and a
// peak-sensitive, time-decayed EWMA of latency (Finagle's "peak EWMA").

/** Latency state of one endpoint, shared by every service it serves. */
export class EndpointStats {
  /** Calls sent there and not yet finished. */
  outstanding = 0;
  /** Peak-EWMA latency in milliseconds. */
  ewmaMs: number;
  /** When ewmaMs was last updated (performance.now()). */
  updatedAt: number;
  readonly #decayMs: number;

  constructor(initialMs: number, decayMs: number) {
    this.ewmaMs = initialMs;
    this.updatedAt = performance.now();
    this.#decayMs = decayMs;
  }

  /** Folds in one observed latency. Rises are taken at once (peak); falls decay over decayMs. */
  observe(rttMs: number, now: number): void {
    if (rttMs > this.ewmaMs) {
      this.ewmaMs = rttMs;
    } else {
      const w = Math.exp(-(now - this.updatedAt) / this.#decayMs);
      this.ewmaMs = this.ewmaMs * w + rttMs * (1 - w);
    }
    this.updatedAt = now;
  }

  /** Makes a failure look slow, so a fast-failing endpoint does not attract traffic. */
  penalize(penaltyMs: number, now: number): void {
    this.ewmaMs = Math.max(this.ewmaMs * 2, penaltyMs);
    this.updatedAt = now;
  }

  /**
   * The latency to use now: after a quiet spell the estimate drifts toward `baselineMs`, so an endpoint
   * that was slow once gets probed again rather than shunned forever.
   */
  latencyMs(now: number, baselineMs: number): number {
    const idle = now - this.updatedAt;
    if (idle < this.#decayMs || this.outstanding > 0) return this.ewmaMs;
    const w = Math.exp(-(idle - this.#decayMs) / this.#decayMs);
    return this.ewmaMs * w + baselineMs * (1 - w);
  }
}
