// Outlier ejection as in Envoy: an endpoint that fails `consecutiveFailures` times in a row is taken
// out of rotation for a while; each repeated ejection lasts longer (base x 2^(n-1), capped, jittered),
// and never more than `maxEjectionPercent` of the endpoints are out at once, so a bad day everywhere
// degrades to "try them all" rather than "no endpoints".

import { assertInt, assertNumber } from "../errors/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_RESILIENCE_OPTIONS";

/** Options of {@link createOutlierDetector}. */
export interface OutlierDetectorOptions {
  /** Failures in a row that eject an endpoint. Default 5. */
  readonly consecutiveFailures?: number;
  /** Length of a first ejection, in milliseconds. Default 1000. */
  readonly baseEjectionMs?: number;
  /** Cap on the length of an ejection, in milliseconds. Default 30000. */
  readonly maxEjectionMs?: number;
  /** Random spread of each ejection time, as a fraction (0.2 = +-20%). Default 0.2. */
  readonly ejectionJitter?: number;
  /** Most endpoints (percent of those known) that may be ejected at once. Default 50. */
  readonly maxEjectionPercent?: number;
  /**
   * An endpoint's ejection count (which sets how long the next one lasts) drops by one after this many
   * milliseconds without an ejection. Default 30000.
   */
  readonly ejectionDecayMs?: number;
}

interface EndpointHealth {
  failures: number;
  ejections: number;
  ejectedUntil: number;
  lastEjectionAt: number;
}

/** One ejection, for logs and tests. */
export interface Ejection {
  readonly id: string;
  readonly durationMs: number;
  readonly ejections: number;
}

/** Tracks consecutive failures per endpoint and decides ejections. */
export interface OutlierDetector {
  /** Records a success: the consecutive-failure count restarts. */
  onSuccess(id: string): void;
  /**
   * Records a failure; returns the ejection it caused, if any. `endpointCount` is how many endpoints
   * the caller can choose from (for the maxEjectionPercent cap).
   */
  onFailure(id: string, endpointCount: number): Ejection | undefined;
  /** Whether `id` is ejected now. */
  isEjected(id: string, now?: number): boolean;
  /** Forgets an endpoint that left the table. */
  remove(id: string): void;
  /** Every ejection so far, in order (bounded to the last 1000). */
  readonly ejections: readonly Ejection[];
}

/** Creates an outlier detector. */
export function createOutlierDetector(options: OutlierDetectorOptions = {}): OutlierDetector {
  const consecutiveFailures = options.consecutiveFailures ?? 5;
  const baseEjectionMs = options.baseEjectionMs ?? 1000;
  const maxEjectionMs = options.maxEjectionMs ?? 30_000;
  const ejectionJitter = options.ejectionJitter ?? 0.2;
  const maxEjectionPercent = options.maxEjectionPercent ?? 50;
  const ejectionDecayMs = options.ejectionDecayMs ?? 30_000;
  assertInt(OPTIONS, consecutiveFailures, "options.consecutiveFailures", 1);
  assertInt(OPTIONS, baseEjectionMs, "options.baseEjectionMs", 1);
  assertInt(OPTIONS, maxEjectionMs, "options.maxEjectionMs", baseEjectionMs);
  assertNumber(OPTIONS, ejectionJitter, "options.ejectionJitter", 0, 1);
  assertNumber(OPTIONS, maxEjectionPercent, "options.maxEjectionPercent", 0, 100);
  assertInt(OPTIONS, ejectionDecayMs, "options.ejectionDecayMs", 1);

  const health = new Map<string, EndpointHealth>();
  const log: Ejection[] = [];

  function ejectedCount(now: number): number {
    let n = 0;
    for (const h of health.values()) if (h.ejectedUntil > now) n++;
    return n;
  }

  return {
    onSuccess(id) {
      const h = health.get(id);
      if (h !== undefined) h.failures = 0;
    },
    onFailure(id, endpointCount) {
      const now = Date.now();
      let h = health.get(id);
      if (h === undefined) health.set(id, (h = { failures: 0, ejections: 0, ejectedUntil: 0, lastEjectionAt: 0 }));
      h.failures++;
      if (h.failures < consecutiveFailures || h.ejectedUntil > now) return undefined;
      if ((ejectedCount(now) + 1) * 100 > endpointCount * maxEjectionPercent) return undefined;
      // Forgive old ejections, one per quiet decay period.
      if (h.ejections > 0 && h.lastEjectionAt > 0) {
        h.ejections = Math.max(0, h.ejections - Math.floor((now - h.lastEjectionAt) / ejectionDecayMs));
      }
      h.ejections++;
      const nominal = Math.min(maxEjectionMs, baseEjectionMs * 2 ** (h.ejections - 1));
      const durationMs = Math.max(1, Math.round(nominal * (1 + ejectionJitter * (2 * Math.random() - 1))));
      h.ejectedUntil = now + durationMs;
      h.lastEjectionAt = now;
      h.failures = 0;
      const ejection = { id, durationMs, ejections: h.ejections };
      log.push(ejection);
      if (log.length > 1000) log.shift();
      return ejection;
    },
    isEjected(id, now = Date.now()) {
      const h = health.get(id);
      return h !== undefined && h.ejectedUntil > now;
    },
    remove(id) {
      health.delete(id);
    },
    ejections: log,
  };
}
