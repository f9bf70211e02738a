// A target's ratio from one paired measurement: both sides' servers run at once, warm, and the load
// alternates between them in short slices (A B, B A, A B, ...). Each adjacent pair of slices gives one
// ratio and the verdict is their interquartile mean. A slow spell of a virtual CPU lasts seconds to tens of seconds,
// so it falls on both slices of most pairs alike; a ratio of two medians taken a minute apart cannot
// tell a slow spell from a slower server (bench/README.md, "Method").

import { probeCores, type RunProbes } from "./core-probe.ts";
import { median } from "./stats.ts";
import { stoppedRising, warmUntil } from "./steady-state.ts";

/** What one slice of load measured. */
export interface SliceResult {
  /** Calls (or requests) per second inside the slice. */
  readonly rate: number;
  /** Anything wrong in the slice (a failed call, a wrong answer): a measurement with problems has no ratio. */
  readonly problems: readonly string[];
  /** CPU microseconds per call of the server and of the load side, where measured. */
  readonly usPerCall?: { readonly server?: number; readonly load?: number };
}

/** One side of a pair: its server is running and warm load can be applied to it in slices. */
export interface SliceSide {
  /** Applies the side's load for about `ms` and reports it; nothing stays in flight afterwards. */
  slice(ms: number): Promise<SliceResult>;
}

/** How a paired measurement runs. */
export interface PairedOptions {
  /** Length of one slice, in milliseconds. */
  readonly sliceMs: number;
  /** Measured pairs (each pair is one slice of each side). */
  readonly pairs: number;
  /** Shortest warm-up of each side (alternating, so the warm-up takes about twice this), in milliseconds. */
  readonly warmupMs: number;
  /** Longest warm-up of each side, in milliseconds; at or below `warmupMs` a fixed warm-up. */
  readonly maxWarmupMs: number;
  /** Time the cores before and after the measured pairs. Default true. */
  readonly probe?: boolean;
}

/** The medians of one side over the measured slices. */
export interface SideSummary {
  readonly rate: number;
  readonly rates: readonly number[];
  readonly usPerCall?: { readonly server?: number; readonly load?: number };
}

/** What a paired measurement found. */
export interface PairedMeasurement {
  /** Interquartile mean of the pairs' subject/baseline ratios (their median below 4 pairs); absent when there were problems. */
  readonly ratio?: number;
  /** Each pair's subject/baseline ratio, in order. */
  readonly pairRatios: readonly number[];
  /** The middle half of the pair ratios (first and third quartile). */
  readonly ratioQuartiles?: readonly [number, number];
  readonly subject?: SideSummary;
  readonly baseline?: SideSummary;
  readonly sliceMs: number;
  /** Wall time of the alternating warm-up, and whether both sides stopped rising (undefined: fixed). */
  readonly warmupMs: number;
  readonly steady: boolean | undefined;
  readonly probe?: RunProbes;
  readonly problems: readonly string[];
}

/**
 * Warms both sides up in alternating slices until both rates stopped rising (at least `warmupMs` of load
 * each, at most `maxWarmupMs`), then measures `pairs` pairs, alternating which side goes first (so a
 * steady drift favours neither), and returns the interquartile mean of the pairs' ratios.
 */
export async function measurePaired(subject: SliceSide, baseline: SliceSide, options: PairedOptions): Promise<PairedMeasurement> {
  const problems: string[] = [];
  const note = (side: string, slice: SliceResult) => problems.push(...slice.problems.map((p) => `${side}: ${p}`));
  const warmSlice = Math.min(options.sliceMs, Math.max(options.warmupMs, 100));
  const warm = await warmUntil(
    async () => {
      if (problems.length > 0) return { subject: 0, baseline: 0 };
      const s = await subject.slice(warmSlice);
      const b = await baseline.slice(warmSlice);
      note("subject (warm-up)", s);
      note("baseline (warm-up)", b);
      return { subject: s.rate, baseline: b.rate };
    },
    (pairs) => problems.length > 0 || (stoppedRising(pairs.map((p) => p.subject)) && stoppedRising(pairs.map((p) => p.baseline))),
    { minMs: 2 * options.warmupMs, maxMs: 2 * options.maxWarmupMs },
  );
  const base = { sliceMs: options.sliceMs, warmupMs: warm.warmupMs, steady: warm.steady };
  if (problems.length > 0) return { ...base, pairRatios: [], problems };

  const probeBefore = options.probe === false ? undefined : await probeCores();
  const subjects: SliceResult[] = [];
  const baselines: SliceResult[] = [];
  for (let pair = 0; pair < options.pairs && problems.length === 0; pair++) {
    const first = pair % 2 === 0 ? subject : baseline;
    const second = first === subject ? baseline : subject;
    const a = await first.slice(options.sliceMs);
    const b = await second.slice(options.sliceMs);
    const [s, bl] = first === subject ? [a, b] : [b, a];
    note("subject", s);
    note("baseline", bl);
    subjects.push(s);
    baselines.push(bl);
  }
  const probeAfter = options.probe === false ? undefined : await probeCores();
  const probe = probeBefore !== undefined && probeAfter !== undefined ? { probe: { before: probeBefore, after: probeAfter } } : {};
  if (problems.length > 0) return { ...base, ...probe, pairRatios: [], problems };

  const pairRatios = subjects.map((s, i) => round3(s.rate / baselines[i]!.rate));
  return {
    ...base,
    ...probe,
    ratio: round3(interquartileMean(pairRatios)),
    pairRatios,
    ...(pairRatios.length >= 4 ? { ratioQuartiles: quartiles(pairRatios) } : {}),
    subject: summarizeSide(subjects),
    baseline: summarizeSide(baselines),
    problems,
  };
}

function summarizeSide(slices: readonly SliceResult[]): SideSummary {
  const of = (pick: (s: SliceResult) => number | undefined) => {
    const values = slices.map(pick).filter((v): v is number => v !== undefined);
    return values.length === 0 ? undefined : Math.round(median(values) * 10) / 10;
  };
  const server = of((s) => s.usPerCall?.server);
  const load = of((s) => s.usPerCall?.load);
  return {
    rate: Math.round(median(slices.map((s) => s.rate))),
    rates: slices.map((s) => Math.round(s.rate)),
    ...(server === undefined && load === undefined ? {} : { usPerCall: { ...(server === undefined ? {} : { server }), ...(load === undefined ? {} : { load }) } }),
  };
}

/**
 * The mean of the middle half (a quarter of the values dropped at each end; the median below four values).
 * Robust to the odd pair a spell cut in two, as the median is, but it uses half the pairs instead of one
 * or two: on the same 12-pair runs its run-to-run differences were 0.2-8% where the median's reached 11.5%.
 */
export function interquartileMean(values: readonly number[]): number {
  if (values.length < 4) return median(values);
  const sorted = [...values].sort((a, b) => a - b);
  const cut = Math.floor(sorted.length / 4);
  const middle = sorted.slice(cut, sorted.length - cut);
  return middle.reduce((sum, v) => sum + v, 0) / middle.length;
}

function quartiles(values: readonly number[]): [number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    const i = (sorted.length - 1) * q;
    const lo = Math.floor(i);
    return sorted[lo]! + (sorted[Math.ceil(i)]! - sorted[lo]!) * (i - lo);
  };
  return [round3(at(0.25)), round3(at(0.75))];
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
