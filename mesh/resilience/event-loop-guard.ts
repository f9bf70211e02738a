// Admission for CPU-bound overload, which a concurrency limit cannot see: CoDel over event-loop turns.
// Once every turn has run at least `maxTurnMs` for `intervalMs`, each turn admits what fits; the rest
// ("refuse") waits for a later turn in the load-shedding hooks' bounded queue, or is refused. The reasoning and the figures: docs/distributed.md, "Server side".

import { assertFunction, assertNumber } from "../errors/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_RESILIENCE_OPTIONS";

/** Options of {@link createEventLoopGuard}. */
export interface EventLoopGuardOptions {
  /**
   * Turns this long count as a queue; while shedding, the work admitted per turn, in milliseconds.
   * A refusal waits about this long, an accepted call about twice as long. Default 4.
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

/**
 * What to do with a call: start it now, start it after the current turn's I/O (shedding: the turn's
 * refusals go out first), or refuse it.
 */
export type GuardVerdict = "run" | "defer" | "refuse";

/** An event-loop guard (one per process: there is one loop). */
export interface EventLoopGuard {
  /** Decides about a call arriving now. */
  admit(): GuardVerdict;
  /** Reports how long an admitted call's synchronous part took (its handler up to the first await), in ms. */
  record(syncMs: number): void;
  /** Whether the guard is shedding (a standing queue of long turns). */
  readonly shedding: boolean;
  /** Calls not admitted in their turn so far (the hooks queue them, or refuse them). */
  readonly refused: number;
  /** The work a turn may admit while shedding, in milliseconds (`maxTurnMs`). */
  readonly turnBudgetMs: number;
  /** Expected synchronous cost of a call (a running average), in milliseconds. */
  readonly costMs: number;
}

/** Weight of each new sample in the running average of a call's synchronous time. */
const COST_SMOOTHING = 0.1;

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
  let lastTurnEnd = Number.NEGATIVE_INFINITY;
  // While shedding: calls admitted, their expected work, and calls refused in the current turn.
  let turnAdmitted = 0;
  let turnWork = 0;
  let turnRefused = 0;
  // Start of the run of long turns, or -1.
  let longSince = -1;
  let shedding = false;
  let leftAt = Number.NEGATIVE_INFINITY;
  let lastRefusal = Number.NEGATIVE_INFINITY;
  let costMs = 0;
  let refused = 0;

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
    if (shedding) {
      // Every arrival has fitted in its turn's budget for an interval: the queue is gone. (One turn is
      // not enough: arrivals come in bursts, and a turn run without a budget undoes the work of many.)
      if (turnRefused > 0) lastRefusal = t;
      else if (t - lastRefusal >= intervalMs) stopShedding(t);
    } else if (t - turnStart < maxTurnMs) {
      longSince = -1;
    } else {
      if (longSince < 0) longSince = turnStart;
      if (t - longSince >= intervalMs || t - leftAt < intervalMs) {
        shedding = true;
        lastRefusal = t;
      }
    }
    turnStart = -1;
  }

  return {
    admit() {
      if (turnStart < 0) {
        const t = now();
        if (t - lastTurnEnd > intervalMs) {
          // After a pause the queue is gone: one long turn an hour ago says nothing about this one.
          longSince = -1;
          shedding = false;
        }
        turnStart = t;
        turnAdmitted = 0;
        turnWork = 0;
        turnRefused = 0;
        afterTurn(endTurn);
      }
      if (!shedding) return "run";
      // The first call of a turn always starts: progress, whatever the estimate.
      if (turnAdmitted > 0 && turnWork + costMs > maxTurnMs) {
        turnRefused++;
        refused++;
        return "refuse";
      }
      turnAdmitted++;
      turnWork += costMs;
      return "defer";
    },
    record(syncMs) {
      // A sample is capped at one turn: a GC pause inside a handler is not the handler's cost.
      costMs += (Math.min(syncMs, maxTurnMs) - costMs) * COST_SMOOTHING;
    },
    get shedding() {
      return shedding;
    },
    get refused() {
      return refused;
    },
    get turnBudgetMs() {
      return maxTurnMs;
    },
    get costMs() {
      return costMs;
    },
  };
}
