// An adaptive concurrency limit in the style of Netflix's Gradient2: the limit follows the ratio of the
// long-term latency to the recent one (a queue forming shows as recent latency rising), grows by a
// small headroom when latency is steady, and falls multiplicatively when the event loop lags. Calls
// beyond the limit are refused at once (see load-shedding.ts) instead of queueing until they time out.

import { assertInt, assertNumber } from "./validate.ts";

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
  assertInt(minLimit, "options.minLimit", 1);
  assertInt(maxLimit, "options.maxLimit", minLimit);
  assertInt(initialLimit, "options.initialLimit", minLimit, maxLimit);
  assertNumber(rttTolerance, "options.rttTolerance", 1);
  assertNumber(smoothing, "options.smoothing", 0.01, 1);
  assertNumber(maxEventLoopDelayMs, "options.maxEventLoopDelayMs", 0);
  if (eventLoopDelayMs !== undefined && typeof eventLoopDelayMs !== "function") {
    throw new TypeError("options.eventLoopDelayMs must be a function");
  }

  let limit = initialLimit;
  let inFlight = 0;
  let refused = 0;
  // Exponential averages of latency: short ~ last 10 calls, long ~ last 500 calls.
  let shortRtt = 0;
  let longRtt = 0;
  const SHORT_ALPHA = 2 / 11;
  const LONG_ALPHA = 2 / 501;

  return {
    tryAcquire() {
      if (inFlight >= Math.floor(limit)) {
        refused++;
        return undefined;
      }
      inFlight++;
      return { startedAt: performance.now() };
    },
    release(admission, ok) {
      const inFlightAtEnd = inFlight;
      inFlight--;
      if (eventLoopDelayMs !== undefined && eventLoopDelayMs() > maxEventLoopDelayMs) {
        limit = Math.max(minLimit, limit * 0.9);
        return;
      }
      if (!ok) return;
      const rtt = performance.now() - admission.startedAt;
      if (longRtt === 0) {
        shortRtt = longRtt = rtt;
        return;
      }
      shortRtt += (rtt - shortRtt) * SHORT_ALPHA;
      longRtt += (rtt - longRtt) * LONG_ALPHA;
      // After a lasting rise, let the long average catch up so the limit can recover.
      if (longRtt / shortRtt > 2) longRtt *= 0.95;
      // Application-limited: too little traffic to learn anything about capacity.
      if (inFlightAtEnd < limit / 2) return;
      const gradient = Math.max(0.5, Math.min(1, (rttTolerance * longRtt) / Math.max(shortRtt, 1e-3)));
      const headroom = Math.sqrt(limit);
      const estimate = limit * gradient + headroom;
      limit = Math.min(maxLimit, Math.max(minLimit, limit * (1 - smoothing) + estimate * smoothing));
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
  };
}
