import { describe, expect, it } from "vitest";
import { createEventLoopGuard } from "./event-loop-guard.ts";

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

/** One turn: `calls` calls `spacingMs` apart (each call's work), then the turn ends; returns admissions. */
function turn(loop: ReturnType<typeof fakeLoop>, guard: ReturnType<typeof createEventLoopGuard>, calls: number, spacingMs: number): boolean[] {
  const admitted: boolean[] = [];
  for (let i = 0; i < calls; i++) {
    admitted.push(guard.admit());
    loop.advance(spacingMs);
  }
  loop.endTurn();
  return admitted;
}

describe("event-loop guard", () => {
  it("lets a burst through: one long turn is not a standing queue", () => {
    const loop = fakeLoop();
    const guard = createEventLoopGuard({ now: loop.now, afterTurn: loop.afterTurn });
    expect(turn(loop, guard, 30, 1).every(Boolean)).toBe(true);
    loop.advance(1);
    expect(turn(loop, guard, 2, 1).every(Boolean)).toBe(true);
    expect(guard.shedding).toBe(false);
  });

  it("caps every turn at maxTurnMs once turns have been long for intervalMs", () => {
    const loop = fakeLoop();
    const guard = createEventLoopGuard({ maxTurnMs: 4, intervalMs: 100, now: loop.now, afterTurn: loop.afterTurn });
    // 20 ms turns back to back (a process falling behind a CPU-bound load): nothing refused before 100 ms.
    for (let i = 0; i < 5; i++) expect(turn(loop, guard, 20, 1).every(Boolean)).toBe(true);
    expect(guard.shedding).toBe(true);
    // Now each turn admits its first 4 ms of calls and refuses the rest.
    const admitted = turn(loop, guard, 20, 1);
    expect(admitted.filter(Boolean).length).toBe(4);
    expect(admitted.slice(0, 4).every(Boolean)).toBe(true);
  });

  it("stops when a turn ends short and restarts on the next long turn soon after", () => {
    const loop = fakeLoop();
    const guard = createEventLoopGuard({ maxTurnMs: 4, intervalMs: 100, now: loop.now, afterTurn: loop.afterTurn });
    for (let i = 0; i < 6; i++) turn(loop, guard, 20, 1);
    expect(guard.shedding).toBe(true);
    turn(loop, guard, 2, 1);
    expect(guard.shedding).toBe(false);
    // One long turn within intervalMs of stopping is enough: an overload dipping for a moment.
    turn(loop, guard, 20, 1);
    expect(guard.shedding).toBe(true);
    // Long after, it takes a full interval again.
    turn(loop, guard, 2, 1);
    loop.advance(150);
    turn(loop, guard, 20, 1);
    expect(guard.shedding).toBe(false);
  });

  it("forgets a standing queue after a pause between turns", () => {
    const loop = fakeLoop();
    const guard = createEventLoopGuard({ maxTurnMs: 4, intervalMs: 100, now: loop.now, afterTurn: loop.afterTurn });
    for (let i = 0; i < 6; i++) turn(loop, guard, 20, 1);
    expect(guard.shedding).toBe(true);
    loop.advance(500);
    // The first turn after the pause is not capped.
    expect(turn(loop, guard, 20, 1).every(Boolean)).toBe(true);
    expect(guard.shedding).toBe(false);
  });

  it("validates its options", () => {
    expect(() => createEventLoopGuard({ maxTurnMs: 0 })).toThrow(/options.maxTurnMs/);
    expect(() => createEventLoopGuard({ intervalMs: -1 })).toThrow(/options.intervalMs/);
    expect(() => createEventLoopGuard({ afterTurn: 1 as never })).toThrow(/options.afterTurn/);
  });
});
