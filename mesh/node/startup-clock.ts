// Where a mesh process's start went: each phase of startMeshNode timed, with what came before it (Node's
// bootstrap, then the import graph and the configuration reads), so a slow start names its slow part.
// The clock is the process's own (performance.now() counts from the process's start).

import { performance } from "node:perf_hooks";

/**
 * Milliseconds of each start-up phase, in the order they ran. `readyMs` is from the process's start to
 * listening and announced; `nodeMs` is Node's own bootstrap; `importsMs` runs from then to
 * startMeshNode (the program's import graph and its configuration reads); the others are startMeshNode's phases.
 */
export type StartupTimings = Readonly<Record<string, number>>;

/** Times phases one after the other; `lap(name)` ends the phase running since the previous lap. */
export interface StartupClock {
  lap(phase: string): void;
  /** The timings so far, `readyMs` first. */
  timings(): StartupTimings;
}

/** Starts timing at the entry of startMeshNode. */
export function createStartupClock(): StartupClock {
  const bootstrapped = performance.nodeTiming.bootstrapComplete;
  let last = performance.now();
  const phases: Record<string, number> = { nodeMs: bootstrapped, importsMs: last - bootstrapped };
  return {
    lap(phase) {
      const now = performance.now();
      phases[`${phase}Ms`] = (phases[`${phase}Ms`] ?? 0) + (now - last);
      last = now;
    },
    timings() {
      const round = (v: number) => Math.round(v * 10) / 10;
      const timings: Record<string, number> = { readyMs: round(last) };
      for (const [phase, ms] of Object.entries(phases)) timings[phase] = round(ms);
      return Object.freeze(timings);
    },
  };
}
