// Garbage collection over a measured window, from V8's gc performance entries: how many scavenges
// (young generation) and full collections ran, and for how long. Divided by the calls of the window it
// says what each call costs the collector.

import { constants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";

/** Collections during a window. */
export interface GcCounts {
  readonly scavenges: number;
  readonly scavengeMs: number;
  /** Mark-compact collections (and their incremental steps). */
  readonly majors: number;
  readonly majorMs: number;
}

/** Starts counting collections; `stop()` ends the window and returns the counts. */
export function startGcWindow(): { stop(): GcCounts } {
  let scavenges = 0;
  let scavengeMs = 0;
  let majors = 0;
  let majorMs = 0;
  const count = (entries: readonly PerformanceEntry[]) => {
    for (const entry of entries as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        scavenges++;
        scavengeMs += entry.duration;
      } else if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR || entry.detail?.kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) {
        majors++;
        majorMs += entry.duration;
      }
    }
  };
  const observer = new PerformanceObserver((list) => count(list.getEntries()));
  observer.observe({ entryTypes: ["gc"] });
  return {
    stop() {
      // Entries are delivered asynchronously: take the ones still queued before disconnecting.
      count(observer.takeRecords());
      observer.disconnect();
      return { scavenges, scavengeMs: Math.round(scavengeMs * 10) / 10, majors, majorMs: Math.round(majorMs * 10) / 10 };
    },
  };
}

/** Counts per 1,000 calls: "how many scavenges, and how many milliseconds of them, per thousand calls". */
export function gcPerThousandCalls(gc: GcCounts, calls: number): GcCounts | undefined {
  if (calls <= 0) return undefined;
  const k = 1000 / calls;
  const r = (n: number) => Math.round(n * k * 100) / 100;
  return { scavenges: r(gc.scavenges), scavengeMs: r(gc.scavengeMs), majors: r(gc.majors), majorMs: r(gc.majorMs) };
}
