// Samples event-loop delay with Node's built-in histogram; reports the p99 of the last window. Feeds
// the adaptive concurrency limit and the load that discovery announces.

import { monitorEventLoopDelay } from "node:perf_hooks";
import { assertInt } from "../errors/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_RESILIENCE_OPTIONS";

/** Options of {@link createEventLoopMonitor}. */
export interface EventLoopMonitorOptions {
  /** Sampling resolution, in milliseconds. Default 10. */
  readonly resolutionMs?: number;
  /** Length of a window; the reported delay is the p99 of the last complete one. Default 1000. */
  readonly windowMs?: number;
}

/** A running event-loop delay monitor. */
export interface EventLoopMonitor {
  /** p99 event-loop delay of the last complete window, in milliseconds (0 before the first). */
  delayMs(): number;
  /** Stops sampling. */
  close(): void;
}

/** Starts an event-loop delay monitor (its timer does not keep the process alive). */
export function createEventLoopMonitor(options: EventLoopMonitorOptions = {}): EventLoopMonitor {
  const resolutionMs = options.resolutionMs ?? 10;
  const windowMs = options.windowMs ?? 1000;
  assertInt(OPTIONS, resolutionMs, "options.resolutionMs", 1);
  assertInt(OPTIONS, windowMs, "options.windowMs", resolutionMs * 2);
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  let last = 0;
  const timer = setInterval(() => {
    // The histogram includes the sampling resolution itself; report only the excess.
    last = histogram.count > 0 ? Math.max(0, histogram.percentile(99) / 1e6 - resolutionMs) : 0;
    histogram.reset();
  }, windowMs);
  timer.unref();
  return {
    delayMs: () => last,
    close() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
