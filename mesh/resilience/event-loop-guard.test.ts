import { describe, expect, it } from "vitest";
import { createEventLoopGuard, type GuardVerdict } from "./event-loop-guard.ts";

// A clock and turn ends the test drives, so turn lengths are exact whatever the machine is doing.
function fakeLoop() {
  let t = 0;
  let pending: (() => void) | undefined;
  return {
    now: () => t,
    afterTurn: (cb: () => void) => void (pending = cb),
    advance: (ms: number) => void (t += ms),
    endTurn() {
      const cb = pending;
      pending = undefined;
      cb?.();
    },
  };
}

type Loop = ReturnType<typeof fakeLoop>;
type Guard = ReturnType<typeof createEventLoopGuard>;

/**
 * One turn of `calls` calls of `costMs` each. Calls run inline take their time within the turn; deferred
 * ones run after it (still on the loop, so the clock moves); each admitted call reports its cost.
 */
function turn(loop: Loop, guard: Guard, calls: number, costMs = 1): GuardVerdict[] {
  const verdicts: GuardVerdict[] = [];
  let deferred = 0;
  for (let i = 0; i < calls; i++) {
    const v = guard.admit();
    verdicts.push(v);
    if (v === "run") loop.advance(costMs);
    if (v === "defer") deferred++;
    if (v !== "refuse") guard.record(costMs);
  }
  loop.endTurn();
  loop.advance(deferred * costMs);
  return verdicts;
}

const count = (vs: GuardVerdict[], v: GuardVerdict) => vs.filter((x) => x === v).length;

/** A guard shedding after 100 ms of 20 ms turns (a CPU-bound standing queue). */
function sheddingGuard(loop: Loop): Guard {
  const guard = createEventLoopGuard({ maxTurnMs: 4, intervalMs: 100, now: loop.now, afterTurn: loop.afterTurn });
  for (let i = 0; i < 5; i++) expect(count(turn(loop, guard, 20), "run")).toBe(20);
  expect(guard.shedding).toBe(true);
  return guard;
}

describe("event-loop guard", () => {
  it("lets a burst through: one long turn is not a standing queue", () => {
    const loop = fakeLoop();
    const guard = createEventLoopGuard({ now: loop.now, afterTurn: loop.afterTurn });
    expect(count(turn(loop, guard, 30), "run")).toBe(30);
    expect(count(turn(loop, guard, 2), "run")).toBe(2);
    expect(guard.shedding).toBe(false);
  });

  it("once turns have been long for intervalMs, admits maxTurnMs of work per turn, deferred, and refuses the rest", () => {
    const loop = fakeLoop();
    const guard = sheddingGuard(loop);
    // Calls of 1 ms: the first 4 of each turn start after the turn's I/O, the other 16 are refused at once.
    const verdicts = turn(loop, guard, 20);
    expect(verdicts.slice(0, 4)).toEqual(["defer", "defer", "defer", "defer"]);
    expect(count(verdicts, "refuse")).toBe(16);
    expect(guard.refused).toBe(16);
    // The budget follows the calls' cost: at 2 ms, two per turn.
    for (let i = 0; i < 30; i++) turn(loop, guard, 20, 2);
    expect(count(turn(loop, guard, 20, 2), "defer")).toBe(2);
  });

  it("always admits a turn's first call, and does not let one slow sample close the door", () => {
    const loop = fakeLoop();
    const guard = sheddingGuard(loop);
    guard.record(500); // a GC pause inside a handler
    expect(count(turn(loop, guard, 20), "defer")).toBeGreaterThanOrEqual(1);
  });

  it("stops once every turn's arrivals have fitted for intervalMs, and restarts on the next long turn soon after", () => {
    const loop = fakeLoop();
    const guard = sheddingGuard(loop);
    // One quiet turn is not the end of an overload: arrivals come in bursts.
    expect(count(turn(loop, guard, 3), "refuse")).toBe(0);
    expect(guard.shedding).toBe(true);
    // 3 ms turns with nothing refused, for 100 ms: the queue is gone.
    for (let i = 0; i < 40 && guard.shedding; i++) turn(loop, guard, 3);
    expect(guard.shedding).toBe(false);
    // One long turn within intervalMs of stopping is enough: an overload dipping for a moment.
    turn(loop, guard, 20);
    expect(guard.shedding).toBe(true);
    // Long after, it takes a full interval again.
    for (let i = 0; i < 40 && guard.shedding; i++) turn(loop, guard, 3);
    loop.advance(150);
    expect(count(turn(loop, guard, 20), "run")).toBe(20);
    expect(guard.shedding).toBe(false);
  });

  it("forgets a standing queue after a pause between turns", () => {
    const loop = fakeLoop();
    const guard = sheddingGuard(loop);
    loop.advance(500);
    expect(count(turn(loop, guard, 20), "run")).toBe(20);
    expect(guard.shedding).toBe(false);
  });

  it("validates its options", () => {
    expect(() => createEventLoopGuard({ maxTurnMs: 0 })).toThrow(/options.maxTurnMs/);
    expect(() => createEventLoopGuard({ intervalMs: -1 })).toThrow(/options.intervalMs/);
    expect(() => createEventLoopGuard({ afterTurn: 1 as never })).toThrow(/options.afterTurn/);
  });
});
