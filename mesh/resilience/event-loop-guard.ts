// Admission for CPU-bound overload, which a concurrency limit cannot see. A handler that computes
// synchronously is admitted, runs and is released within one event-loop turn, so the number of calls
// in flight stays near one however far behind the process falls: the queue is in the socket buffers
// (or, past HTTP/2's stream limit, in the clients), not in the limiter. What does show is the loop
// itself: every call that arrives while a turn runs is read by the next one, so a process that falls
// behind runs ever longer turns. And a call's answer leaves only when its turn ends (responses are
// flushed between turns), so a refusal waits out the rest of the previous turn and all of its own:
// the length of the turns is the latency of everything, refusals included.
//
// The guard keeps turns short, in the manner of CoDel: a turn of at least `maxTurnMs` is a queue; when
// every turn has been that long for `intervalMs` (a standing queue, not a burst), each call arriving
// after its turn has run `maxTurnMs` is refused, until a turn ends shorter (the queue is gone). Each
// turn then does about `maxTurnMs` of admitted work and answers the rest with refusals. Re-entering
// within `intervalMs` of leaving takes one long turn, so an overload that dips for a moment does not
// get a fresh interval of unbounded turns; a pause longer than `intervalMs` between turns starts over.
//
// A turn, here, runs from its first call to a setImmediate scheduled by that call (the end of the
// loop's I/O phase, where responses are flushed).

import { assertFunction, assertNumber } from "../errors/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_RESILIENCE_OPTIONS";

/** Options of {@link createEventLoopGuard}. */
export interface EventLoopGuardOptions {
  /**
   * Turns this long count as a queue; while shedding, a call arriving after its turn has run this
   * long is refused, in milliseconds. A refusal waits about twice this long. Default 4.
   */
  readonly maxTurnMs?: number;
  /**
   * How long every turn must have been long (with no pause between turns longer than this) before
   * calls are refused, in milliseconds. Default 100.
   */
  readonly intervalMs?: number;
  /** The clock, in milliseconds (tests set it). Default `performance.now`. */
  readonly now?: () => number;
  /** Runs a callback once the current turn's I/O is done (tests set it). Default `setImmediate`. */
  readonly afterTurn?: (callback: () => void) => void;
}

/** An event-loop guard (one per process: there is one loop). */
export interface EventLoopGuard {
  /** Whether a call arriving now may start. */
  admit(): boolean;
  /** Whether calls are being refused (a standing queue of long turns). */
  readonly shedding: boolean;
}

/** Creates an event-loop guard. */
export function createEventLoopGuard(options: EventLoopGuardOptions = {}): EventLoopGuard {
  const maxTurnMs = options.maxTurnMs ?? 4;
  const intervalMs = options.intervalMs ?? 100;
  const now = options.now ?? (() => performance.now());
  const afterTurn = options.afterTurn ?? ((callback: () => void) => void setImmediate(callback));
  assertNumber(OPTIONS, maxTurnMs, "options.maxTurnMs", 0.1);
  assertNumber(OPTIONS, intervalMs, "options.intervalMs", 0);
  assertFunction(OPTIONS, now, "options.now");
  assertFunction(OPTIONS, afterTurn, "options.afterTurn");

  // Start of the current turn (its first call), or -1 between turns.
  let turnStart = -1;
  // Start of the run of back-to-back long turns, or -1.
  let longSince = -1;
  let shedding = false;
  let leftAt = Number.NEGATIVE_INFINITY;
  let lastTurnEnd = Number.NEGATIVE_INFINITY;

  function stopShedding(t: number): void {
    longSince = -1;
    if (shedding) {
      shedding = false;
      leftAt = t;
    }
  }

  function endTurn(): void {
    const t = now();
    lastTurnEnd = t;
    if (t - turnStart < maxTurnMs) stopShedding(t);
    else {
      if (longSince < 0) longSince = turnStart;
      if (!shedding && (t - longSince >= intervalMs || t - leftAt < intervalMs)) shedding = true;
    }
    turnStart = -1;
  }

  return {
    admit() {
      const t = now();
      if (turnStart >= 0) return !shedding || t - turnStart < maxTurnMs;
      if (t - lastTurnEnd > intervalMs) {
        // After a pause the queue is gone: one long turn an hour ago says nothing about this one.
        longSince = -1;
        shedding = false;
      }
      // The first call of a turn always starts: progress, whatever the state.
      turnStart = t;
      afterTurn(endTurn);
      return true;
    },
    get shedding() {
      return shedding;
    },
  };
}
