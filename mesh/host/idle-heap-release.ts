// Hands a load's heap back once the process idles. V8's memory reducer, the GC that returns pooled pages
// to the OS, never starts in an idle server: it decides from the allocation rate seen at the last GC,
// and an idle process runs no GC, so the rate stays the load's ("high alloc" every 8 s, for ever). A
// gateway kept 336-515 MB after a minute of load that had started from 122 (docs/host.md, "Memory after
// load"). Here: after two quiet windows in a row, when the resident set grew since the last release (or
// once after start-up, whose module loading leaves garbage too), one full GC. It frees the objects and, measuring a low allocation rate, lets the memory reducer start:
// about 8 s later V8 hands the pages back (a test process: RSS 294 -> 80 MB). It runs while nothing is
// served, so it delays nobody.
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { performance, type EventLoopUtilization } from "node:perf_hooks";
import { runInNewContext } from "node:vm";

/** How the process decides it idles, and when a release pays. */
export interface IdleHeapReleaseOptions {
  /** Length of one observation window, in ms. Default 5,000. */
  readonly windowMs?: number;
  /** Quiet windows in a row before a release. Default 2. */
  readonly quietWindows?: number;
  /** A window is quiet when the event loop was busy less than this share of it. Default 0.02. */
  readonly quietUtilization?: number;
  /**
   * Growth of the resident set since the last release (or the start) that makes one worth a full GC, in
   * bytes. Default 32 MiB. Resident, not V8's committed heap: pages V8 freed but pools stay resident and
   * uncounted there (a catalog after load: heap +15 MB, resident +106 MB).
   */
  readonly minGrowthBytes?: number;
  /**
   * Also release at the first quiet spell after the watch starts, grown or not: start-up leaves the
   * garbage of loading the modules and a young generation grown to its cap (an idle catalog: private
   * memory 55 -> 37 MB). Default true.
   */
  readonly afterStart?: boolean;
  /** Told after each release (committed heap before and after, the GC's wall time). Default: nothing. */
  readonly onRelease?: (release: HeapRelease) => void;
}

/** What one release did (V8 hands the pooled pages back some seconds later, so RSS falls after it). */
export interface HeapRelease {
  readonly rssBeforeBytes: number;
  readonly committedBeforeBytes: number;
  readonly committedAfterBytes: number;
  readonly gcMs: number;
}

type Gc = (options?: { type?: "major"; execution?: "sync" }) => void;

/** V8's gc(): the global one under --expose-gc, else exposed now (a fresh context picks the flag up). */
function exposedGc(): Gc {
  const global = (globalThis as { gc?: Gc }).gc;
  if (typeof global === "function") return global;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as Gc;
}

/**
 * Watches the event loop's utilisation in windows and releases the heap after a quiet spell; returns
 * the function that stops watching. The timer is unref'd: it never keeps a process alive.
 */
export function watchIdleHeap(options: IdleHeapReleaseOptions = {}): () => void {
  const windowMs = options.windowMs ?? 5_000;
  const quietWindows = options.quietWindows ?? 2;
  const quietUtilization = options.quietUtilization ?? 0.02;
  const minGrowthBytes = options.minGrowthBytes ?? 32 * 1024 * 1024;
  const committed = () => getHeapStatistics().total_heap_size;
  // A baseline of 0 makes the whole start-up count as growth: the first quiet spell releases it.
  let baseline = options.afterStart === false ? process.memoryUsage.rss() : 0;
  let quiet = 0;
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  let gc: Gc | undefined;

  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    quiet = busy < quietUtilization ? quiet + 1 : 0;
    if (quiet < quietWindows) return;
    const rss = process.memoryUsage.rss();
    // Memory handed back (by the last release, or by V8 on its own) lowers the bar for the next release.
    if (rss - baseline < minGrowthBytes) return void (baseline = Math.min(baseline, rss));
    gc ??= exposedGc();
    const committedBefore = committed();
    const started = performance.now();
    gc({ type: "major", execution: "sync" });
    const gcMs = performance.now() - started;
    // Until V8 returns the pages, RSS stays where it is: measured from here, the next release needs new growth.
    baseline = rss;
    options.onRelease?.({ rssBeforeBytes: rss, committedBeforeBytes: committedBefore, committedAfterBytes: committed(), gcMs });
  }, windowMs);
  timer.unref();
  return () => clearInterval(timer);
}

let shared: { readonly stop: () => void; holders: number } | undefined;

/**
 * One watch per process, however many hosts it runs: each host holds it from its start until it closes,
 * and the first holder's `onRelease` is told. Returns the function that lets go (idempotent).
 */
export function holdIdleHeapWatch(onRelease?: (release: HeapRelease) => void): () => void {
  shared ??= { stop: watchIdleHeap({ onRelease }), holders: 0 };
  shared.holders++;
  let held = true;
  return () => {
    if (!held || shared === undefined) return;
    held = false;
    if (--shared.holders === 0) {
      shared.stop();
      shared = undefined;
    }
  };
}
