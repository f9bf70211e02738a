// Warming up until the rate stops rising: V8 keeps compiling hot code for several seconds (a client and
// server pair can run at a quarter of its speed 2-4 s in and reach its plateau only after ~9 s), so a
// fixed short warm-up measures the ramp, not the code.

/** Options of {@link warmUntilSteady}. */
export interface SteadyStateOptions {
  /** Warm up at least this long, in milliseconds (a plateau before it is not trusted). */
  readonly minMs: number;
  /** Stop warming up after this long even if the rate still rises, in milliseconds. */
  readonly maxMs: number;
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
 * Runs `window()` (one measurement window, resolving with its rate) until at least `minMs` passed and
 * the rate stopped rising, or `maxMs` passed. With `maxMs <= minMs` it is a fixed warm-up of `minMs`.
 */
export async function warmUntilSteady(window: () => Promise<number>, options: SteadyStateOptions): Promise<WarmUp> {
  const started = performance.now();
  const rates: number[] = [];
  for (;;) {
    rates.push(await window());
    const elapsed = performance.now() - started;
    const fixed = options.maxMs <= options.minMs;
    if (elapsed >= options.maxMs && elapsed >= options.minMs) return { warmupMs: Math.round(elapsed), steady: fixed ? undefined : stoppedRising(rates, options.riseTolerance), rates };
    if (elapsed >= options.minMs && !fixed && stoppedRising(rates, options.riseTolerance)) return { warmupMs: Math.round(elapsed), steady: true, rates };
  }
}
