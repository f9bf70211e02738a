// Warming up until the rate stops rising: V8 keeps compiling hot code for several seconds (a client and
// server pair can run at a quarter of its speed 2-4 s in and reach its plateau only after ~9 s), so a
// fixed short warm-up measures the ramp, not the code. A cost (latency at a fixed offered rate, CPU per
// call) settles the other way: it stops falling.

/** How long a warm-up may take (both in milliseconds); with `maxMs <= minMs` it is a fixed `minMs`. */
export interface WarmUpBounds {
  /** Warm up at least this long, in milliseconds (a plateau before it is not trusted). */
  readonly minMs: number;
  /** Stop warming up after this long even if the rate still rises, in milliseconds. */
  readonly maxMs: number;
}

/** Options of {@link warmUntilSteady}. */
export interface SteadyStateOptions extends WarmUpBounds {
  /** The last two windows' mean may exceed the two before by at most this share. Default 0.03. */
  readonly riseTolerance?: number;
}

/** What a warm-up did. */
export interface WarmUp {
  /** How long it took, in milliseconds. */
  readonly warmupMs: number;
  /** True when the rate stopped rising; false when `maxMs` ended it first; undefined for a fixed warm-up. */
  readonly steady: boolean | undefined;
  /** The rate of each window, in order. */
  readonly rates: readonly number[];
}

/** What a warm-up on any measure did ({@link warmUntil}). */
export interface Settling<T> {
  /** How long it took, in milliseconds. */
  readonly warmupMs: number;
  /** True when the measure settled; false when `maxMs` ended it first; undefined for a fixed warm-up. */
  readonly steady: boolean | undefined;
  /** What each window measured, in order. */
  readonly samples: readonly T[];
}

/**
 * True when the rate has stopped rising: the mean of the last two windows is no more than `tolerance`
 * above the mean of the two before them. Needs four windows.
 */
export function stoppedRising(rates: readonly number[], tolerance = 0.03): boolean {
  if (rates.length < 4) return false;
  const [a, b, c, d] = rates.slice(-4);
  return (c + d) / 2 <= ((a + b) / 2) * (1 + tolerance);
}

/**
 * True when a cost (latency, CPU per call) has stopped falling: the mean of the last two windows is no
 * more than `tolerance` below the mean of the two before them. Needs four windows.
 */
export function stoppedFalling(costs: readonly number[], tolerance = 0.03): boolean {
  if (costs.length < 4) return false;
  const [a, b, c, d] = costs.slice(-4);
  return (c + d) / 2 >= ((a + b) / 2) * (1 - tolerance);
}

/**
 * Runs `window()` (one measurement window) until at least `minMs` passed and `settled` holds for the
 * windows so far, or `maxMs` passed. With `maxMs <= minMs` it is a fixed warm-up of `minMs`.
 */
export async function warmUntil<T>(window: () => Promise<T>, settled: (samples: readonly T[]) => boolean, bounds: WarmUpBounds): Promise<Settling<T>> {
  const started = performance.now();
  const samples: T[] = [];
  const fixed = bounds.maxMs <= bounds.minMs;
  for (;;) {
    samples.push(await window());
    const elapsed = performance.now() - started;
    if (elapsed >= bounds.maxMs && elapsed >= bounds.minMs) return { warmupMs: Math.round(elapsed), steady: fixed ? undefined : settled(samples), samples };
    if (elapsed >= bounds.minMs && !fixed && settled(samples)) return { warmupMs: Math.round(elapsed), steady: true, samples };
  }
}

/**
 * Runs `window()` (one measurement window, resolving with its rate) until at least `minMs` passed and
 * the rate stopped rising, or `maxMs` passed. With `maxMs <= minMs` it is a fixed warm-up of `minMs`.
 */
export async function warmUntilSteady(window: () => Promise<number>, options: SteadyStateOptions): Promise<WarmUp> {
  const warm = await warmUntil(window, (rates) => stoppedRising(rates, options.riseTolerance), options);
  return { warmupMs: warm.warmupMs, steady: warm.steady, rates: warm.samples };
}

/**
 * The warm-up as a report says it: "9.1 s", "30.0 s (still rising)" when the maximum ended it (`unsettled`
 * names that state for a cost: "still falling"), "0.3 s (fixed)" for a fixed warm-up.
 */
export function describeWarmUp(warm: Pick<WarmUp, "warmupMs" | "steady">, unsettled = "still rising"): string {
  const s = `${(warm.warmupMs / 1000).toFixed(1)} s`;
  return warm.steady === undefined ? `${s} (fixed)` : warm.steady ? s : `${s} (${unsettled})`;
}
