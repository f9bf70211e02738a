// The bounded wait queue of load shedding: a call that finds the concurrency limit full (or the
// event-loop guard's turn budget spent) waits here, in arrival order, instead of being refused at once;
// it is refused only when the queue is full or its wait runs out. Without it, a burst one call above
// the limit is a refusal, and a closed loop of callers (each sends again as soon as it is answered)
// turns every refusal into a new call at once: refusals then take the CPU that served calls had.
// Bounded by count (a multiple of the current limit, so the wait is about that many call latencies)
// and by time (a fixed cap and a share of the call's own deadline). The hooks are load-shedding-hooks.ts.

import { assertInt, assertNumber } from "../errors/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_RESILIENCE_OPTIONS";

/** Options of {@link createAdmissionQueue} (the `queue` option of `createLoadSheddingHooks`). */
export interface AdmissionQueueOptions {
  /**
   * Calls that may wait, per unit of the current concurrency limit (0: no queue, refuse at once).
   * Default 4: a full queue drains in about four call latencies.
   */
  readonly queuedPerLimit?: number;
  /** Fewest calls that may wait whatever the limit (whole calls). Default 16: a burst of a few callers. */
  readonly minQueuedCalls?: number;
  /** Longest wait of a call, in milliseconds. Default 100: a burst, not a standing queue. */
  readonly maxWaitMs?: number;
  /** Longest wait as a share of the call's remaining deadline (0..1]. Default 0.25: the rest is for its work. */
  readonly deadlineShare?: number;
}

/** A call waiting for admission. */
export interface Waiter {
  /** Called once, when the call may start (it then holds whatever `tryStart` took for it). */
  readonly start: () => void;
  /** Called once, when the call gives up waiting (its wait ran out or it was cancelled). */
  readonly refuse: () => void;
}

/** What the queue needs to know of a call and of the server when the call arrives. */
export interface QueuedCall {
  /** The current concurrency limit (whole calls): the queue's count bound scales with it. */
  readonly limit: number;
  /**
   * Expected milliseconds between two starts of waiting calls as the server sees it (latency / limit),
   * or 0 when unknown; the queue also measures it, and the larger counts.
   */
  readonly msPerStart: number;
  /** What remains of the call's deadline, in milliseconds, or undefined for none. */
  readonly timeoutMs: number | undefined;
  /** Aborts when the call is cancelled; its wait ends (and it is refused). */
  readonly signal: AbortSignal | undefined;
}

/** The queue's state and operations. */
export interface AdmissionQueue {
  /**
   * Queues a call; false when the queue is full or the call would not start within its wait (refuse
   * it now: a refusal after a wait it could not survive only costs the caller that wait).
   */
  enqueue(waiter: Waiter, call: QueuedCall): boolean;
  /** Starts waiting calls, oldest first, while `tryStart` admits them (it returns false to stop). */
  drain(tryStart: () => boolean): void;
  /** Calls waiting. */
  readonly length: number;
}

/** Weight of each new sample in the average time between starts. */
const START_SMOOTHING = 0.1;

interface Entry {
  readonly waiter: Waiter;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  done: boolean;
}

/** Creates an admission queue (one per set of load-shedding hooks). */
export function createAdmissionQueue(options: AdmissionQueueOptions = {}): AdmissionQueue {
  const queuedPerLimit = options.queuedPerLimit ?? 4;
  const minQueuedCalls = options.minQueuedCalls ?? 16;
  const maxWaitMs = options.maxWaitMs ?? 100;
  const deadlineShare = options.deadlineShare ?? 0.25;
  assertNumber(OPTIONS, queuedPerLimit, "options.queue.queuedPerLimit", 0);
  assertInt(OPTIONS, minQueuedCalls, "options.queue.minQueuedCalls", 0);
  assertNumber(OPTIONS, maxWaitMs, "options.queue.maxWaitMs", 0);
  assertNumber(OPTIONS, deadlineShare, "options.queue.deadlineShare", 0.01, 1);

  // Oldest first; `head` skips entries already started or refused without shifting the array each time.
  let entries: Entry[] = [];
  let head = 0;
  let waiting = 0;
  // Measured time between two starts from the queue while it stays non-empty (an average), and the last.
  let observedMsPerStart = 0;
  let lastStartAt = -1;

  function settle(entry: Entry): void {
    entry.done = true;
    waiting--;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (entry.onAbort !== undefined) entry.signal!.removeEventListener("abort", entry.onAbort);
  }

  function giveUp(entry: Entry): void {
    if (entry.done) return;
    settle(entry);
    entry.waiter.refuse();
  }

  return {
    enqueue(waiter, { limit, msPerStart, timeoutMs, signal }) {
      const capacity = queuedPerLimit === 0 ? 0 : Math.max(minQueuedCalls, Math.floor(queuedPerLimit * limit));
      if (waiting >= capacity || signal?.aborted === true) return false;
      const waitMs = timeoutMs === undefined ? maxWaitMs : Math.min(maxWaitMs, timeoutMs * deadlineShare);
      // Under a lasting overload the queue stays as long as its wait allows and the excess is refused at once.
      if (waiting === 0) lastStartAt = -1;
      if (waitMs <= 0 || (waiting + 1) * Math.max(msPerStart, observedMsPerStart) > waitMs) return false;
      const entry: Entry = { waiter, timer: undefined, signal: undefined, onAbort: undefined, done: false };
      entry.timer = setTimeout(() => giveUp(entry), waitMs);
      if (signal !== undefined) {
        entry.signal = signal;
        entry.onAbort = () => giveUp(entry);
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
      // Entries that gave up stay until a drain passes them: compact when they outnumber the waiting.
      if (entries.length - head > 4 * (waiting + 16)) {
        entries = entries.slice(head).filter((e) => !e.done);
        head = 0;
      }
      entries.push(entry);
      waiting++;
      return true;
    },
    drain(tryStart) {
      while (head < entries.length) {
        const entry = entries[head];
        if (entry.done) {
          head++;
          continue;
        }
        if (!tryStart()) break;
        head++;
        const t = performance.now();
        if (lastStartAt >= 0) observedMsPerStart += (t - lastStartAt - observedMsPerStart) * START_SMOOTHING;
        lastStartAt = t;
        settle(entry);
        entry.waiter.start();
      }
      // Compact once the consumed prefix dominates, so the array stays within a few times the queue.
      if (head > 64 && head * 2 > entries.length) {
        entries = entries.slice(head);
        head = 0;
      }
    },
    get length() {
      return waiting;
    },
  };
}
