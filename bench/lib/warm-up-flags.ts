// The --warmup / --max-warmup flags of the benchmarks that run outside bench/run.ts's options, read in
// one place so every bench says and bounds its warm-up the same way.

import { type CommandFlag, numberSetting } from "../../mesh/errors/index.ts";
import type { WarmUpBounds } from "./steady-state.ts";

/** A bench's warm-up defaults, in seconds. */
export interface WarmUpDefaults {
  /** Shortest warm-up of a full run. */
  readonly minS: number;
  /** Longest warm-up of a full run. */
  readonly maxS: number;
  /** The fixed warm-up of a quick run (which claims no steady state); absent for a bench without --quick. */
  readonly quickS?: number;
  /** What settles, for --help: "the calls/s stop rising", "p50 stops falling". */
  readonly until: string;
}

/** The two flags, with `defaults` in their help text. */
export function warmUpFlags(defaults: WarmUpDefaults) {
  return {
    warmup: { type: "string", valueName: "S", defaultText: `${defaults.minS}${defaults.quickS === undefined ? "" : `, quick ${defaults.quickS}`}`, description: `shortest warm-up in seconds; then until ${defaults.until}` },
    "max-warmup": { type: "string", valueName: "S", defaultText: `${defaults.maxS}${defaults.quickS === undefined ? "" : ", quick: the warm-up"}`, description: "longest warm-up in seconds; equal to --warmup for a fixed warm-up" },
  } as const satisfies Record<string, CommandFlag>;
}

/** The warm-up bounds from the flags' values: a quick run warms up for a fixed time unless told otherwise. */
export function warmUpBounds(values: { readonly warmup?: string; readonly "max-warmup"?: string }, defaults: WarmUpDefaults, quick: boolean): WarmUpBounds {
  const minS = numberSetting("--warmup", values.warmup, quick ? (defaults.quickS ?? defaults.minS) : defaults.minS, { min: 0 });
  const maxS = numberSetting("--max-warmup", values["max-warmup"], quick ? minS : defaults.maxS, { min: 0 });
  return { minMs: minS * 1000, maxMs: maxS * 1000 };
}
