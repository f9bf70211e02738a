// An adaptive concurrency limit in the style of Netflix's Gradient2: the limit follows the ratio of the
// long-term latency to the recent one (a queue forming shows as recent latency rising), grows by a
// small headroom when latency is steady, and falls multiplicatively when the event loop lags. Calls
// beyond the limit wait in a bounded queue or are refused (see load-shedding-hooks.ts), never queue
// until they time out.
//
// Latency is sampled in time windows (default 100 ms): one limit update per window, from the window's
// average, so the limit moves at the same pace at 100 and at 100,000 calls per second, and one slow
// moment (a GC pause, a noisy neighbour) moves it by at most one step.
//
// CPU-bound overload does not show in the number of calls in flight (a synchronous handler is admitted
// and released within one event-loop turn): the event-loop guard (event-loop-guard.ts) sees that one.

import { assertInt, assertNumber, WeftOptionsError } from "../errors/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_RESILIENCE_OPTIONS";

/** Options of {@link createConcurrencyLimiter}. */
export interface ConcurrencyLimiterOptions {
  /** Limit at start. Default 20. */
  readonly initialLimit?: number;
  /** The limit never falls below this. Default 4. */
  readonly minLimit?: number;
  /** The limit never rises above this. Default 1000. */
  readonly maxLimit?: number;
  /** Latency may rise to this multiple of the long-term average before the limit falls. Default 1.5. */
  readonly rttTolerance?: number;
  /** Weight of each new limit estimate (0..1]. Default 0.2. */
  readonly smoothing?: number;
  /** Event-loop delay above which the limit falls by 10% per completed call, in ms. Default 50. */
  readonly maxEventLoopDelayMs?: number;
  /** Reads the current event-loop delay in milliseconds. Default: none (only latency counts). */
  readonly eventLoopDelayMs?: () => number;
  /** Length of a sampling window, in milliseconds (0: update on every call). Default 100. */
  readonly sampleWindowMs?: number;
  /** Fewest completed calls a window needs before it updates the limit. Default 10. */
  readonly minWindowSamples?: number;
  /** Length of the long-term latency average, in windows. Default 100 (10 s at 100 ms). */
  readonly longWindows?: number;
  /** The clock, in milliseconds (tests set it). Default `performance.now`. */
  readonly now?: () => number;
}

/** An admission token; pass it back to release(). */
export interface Admission {
  readonly startedAt: number;
}

/** The limiter's state and operations. */
export interface ConcurrencyLimiter {
  /** Admits a call if fewer than `limit` are in flight; undefined means: refuse it. */
  tryAcquire(): Admission | undefined;
  /** Ends an admitted call; `ok` is false when it failed for reasons that say nothing of latency. */
  release(admission: Admission, ok: boolean): void;
  /** The current limit (whole calls). */
  readonly limit: number;
  /** Calls admitted and not yet released. */
  readonly inFlight: number;
  /** Calls refused so far. */
  readonly refused: number;
  /** Long-term average latency of admitted calls, in milliseconds (0 before the first window). */
  readonly latencyMs: number;
}

/** Creates an adaptive concurrency limiter. */
export function createConcurrencyLimiter(options: ConcurrencyLimiterOptions = {}): ConcurrencyLimiter {
  const minLimit = options.minLimit ?? 4;
  const maxLimit = options.maxLimit ?? 1000;
  const initialLimit = options.initialLimit ?? Math.min(maxLimit, Math.max(minLimit, 20));
  const rttTolerance = options.rttTolerance ?? 1.5;
  const smoothing = options.smoothing ?? 0.2;
  const maxEventLoopDelayMs = options.maxEventLoopDelayMs ?? 50;
  const eventLoopDelayMs = options.eventLoopDelayMs;
  assertInt(OPTIONS, minLimit, "options.minLimit", 1);
  assertInt(OPTIONS, maxLimit, "options.maxLimit", minLimit);
  assertInt(OPTIONS, initialLimit, "options.initialLimit", minLimit, maxLimit);
  assertNumber(OPTIONS, rttTolerance, "options.rttTolerance", 1);
  assertNumber(OPTIONS, smoothing, "options.smoothing", 0.01, 1);
  assertNumber(OPTIONS, maxEventLoopDelayMs, "options.maxEventLoopDelayMs", 0);
  if (eventLoopDelayMs !== undefined && typeof eventLoopDelayMs !== "function") {
    throw new WeftOptionsError(OPTIONS, "options.eventLoopDelayMs must be a function");
  }
  const sampleWindowMs = options.sampleWindowMs ?? 100;
  const minWindowSamples = options.minWindowSamples ?? 10;
  const longWindows = options.longWindows ?? 100;
  assertNumber(OPTIONS, sampleWindowMs, "options.sampleWindowMs", 0);
  assertInt(OPTIONS, minWindowSamples, "options.minWindowSamples", 1);
  assertInt(OPTIONS, longWindows, "options.longWindows", 2);
  const now = options.now ?? (() => performance.now());
  if (typeof now !== "function") throw new WeftOptionsError(OPTIONS, "options.now must be a function");

  let limit = initialLimit;
  let inFlight = 0;
  let refused = 0;
  // The current window.
  let windowStart = now();
  let windowSum = 0;
  let windowCount = 0;
  let windowMaxInFlight = 0;
  // Exponential average of the window latencies over ~longWindows windows.
  let longRtt = 0;
  const LONG_ALPHA = 2 / (longWindows + 1);

  function update(shortRtt: number, maxInFlight: number): void {
    const busy = maxInFlight >= limit / 2;
    if (eventLoopDelayMs !== undefined && busy && eventLoopDelayMs() > maxEventLoopDelayMs) {
      limit = Math.max(minLimit, limit * 0.9);
      return;
    }
    if (shortRtt <= 0) return;
    if (longRtt === 0) {
      longRtt = shortRtt;
      return;
    }
    longRtt += (shortRtt - longRtt) * LONG_ALPHA;
    // After a lasting drop in latency, let the long average follow quickly so the limit can grow.
    if (longRtt / shortRtt > 2) longRtt *= 0.95;
    // Application-limited: too little traffic to learn anything about capacity.
    if (!busy) return;
    const gradient = Math.max(0.5, Math.min(1, (rttTolerance * longRtt) / shortRtt));
    const estimate = limit * gradient + Math.sqrt(limit);
    limit = Math.min(maxLimit, Math.max(minLimit, limit * (1 - smoothing) + estimate * smoothing));
  }

  return {
    tryAcquire() {
      if (inFlight >= Math.floor(limit)) {
        refused++;
        return undefined;
      }
      inFlight++;
      if (inFlight > windowMaxInFlight) windowMaxInFlight = inFlight;
      return { startedAt: now() };
    },
    release(admission, ok) {
      inFlight--;
      const t = now();
      if (ok) {
        windowSum += t - admission.startedAt;
        windowCount++;
      }
      if (t - windowStart < sampleWindowMs || windowCount < minWindowSamples) return;
      update(windowCount === 0 ? 0 : windowSum / windowCount, windowMaxInFlight);
      windowStart = t;
      windowSum = 0;
      windowCount = 0;
      windowMaxInFlight = inFlight;
    },
    get limit() {
      return Math.floor(limit);
    },
    get inFlight() {
      return inFlight;
    },
    get refused() {
      return refused;
    },
    get latencyMs() {
      return longRtt;
    },
  };
}
