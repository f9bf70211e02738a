// Recent latencies of one method, for the hedging delay: a ring buffer of the last samples whose
// percentile is recomputed every `recomputeEvery` samples, not per call: sorting costs.

/** A sliding sample of latencies. */
export class LatencyTracker {
  readonly #samples: Float64Array;
  #count = 0;
  #next = 0;
  #sinceRecompute = 0;
  #cached = Number.NaN;
  readonly #percentile: number;
  readonly #recomputeEvery: number;

  constructor(percentile: number, capacity = 1000, recomputeEvery = 100) {
    this.#samples = new Float64Array(capacity);
    this.#percentile = percentile;
    this.#recomputeEvery = recomputeEvery;
  }

  /** Adds one latency in milliseconds. */
  record(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
    if (++this.#sinceRecompute >= this.#recomputeEvery) this.#cached = Number.NaN;
  }

  /** Number of samples held. */
  get count(): number {
    return this.#count;
  }

  /** The configured percentile of the held samples, in milliseconds (NaN when empty). */
  value(): number {
    if (Number.isNaN(this.#cached) && this.#count > 0) {
      const sorted = this.#samples.slice(0, this.#count).sort();
      this.#cached = sorted[Math.min(this.#count - 1, Math.floor((this.#percentile / 100) * this.#count))];
      this.#sinceRecompute = 0;
    }
    return this.#cached;
  }
}
