// RED figures (rate, errors, duration) per (service, method, caller) over a sliding window of seconds:
// for each key a ring of one-second slots, each holding calls, errors and counts per fixed latency
// bucket. Memory is fixed per key (slots x (2 + buckets) x 4 bytes) and keys are capped, so a window
// costs at most maxKeys of those whatever the traffic. Percentiles come from the buckets (an estimate
// within one bucket), and slots merge by addition, which is what the mesh aggregator needs.

/** Upper bounds of the latency buckets, in milliseconds (one more bucket above the last). */
export const RED_BUCKET_BOUNDS_MS: readonly number[] = Object.freeze([
  0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384,
]);

/** Number of buckets per slot. */
export const RED_BUCKETS = RED_BUCKET_BOUNDS_MS.length + 1;

/** The caller recorded once a method has `maxCallersPerMethod` callers. */
export const OTHER_CALLER = "(other)";

/** Figures of one key over a window. */
export interface RedSummary {
  readonly service: string;
  readonly method: string;
  readonly caller: string;
  readonly calls: number;
  readonly errors: number;
  /** Calls per second over the window. */
  readonly rate: number;
  readonly errorRate: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

/** One key's raw figures for one second. */
export interface RedSecond {
  readonly service: string;
  readonly method: string;
  readonly caller: string;
  readonly unixS: number;
  readonly calls: number;
  readonly errors: number;
  readonly buckets: readonly number[];
}

/** One key's per-second series. */
export interface RedSeries {
  readonly service: string;
  readonly method: string;
  readonly caller: string;
  readonly startUnixS: number;
  readonly calls: number[];
  readonly errors: number[];
  readonly p99Ms: number[];
}

/** Options of {@link RedWindow}. */
export interface RedWindowOptions {
  /** Seconds kept. Default 60. */
  readonly seconds?: number;
  /** Keys (service, method, caller) kept; later keys are dropped and counted in `dropped`. Default 512. */
  readonly maxKeys?: number;
  /** Distinct callers kept per method; the rest are recorded as "(other)". Default 16. */
  readonly maxCallersPerMethod?: number;
}

/** The slots of one key. */
export class RedKey {
  readonly service: string;
  readonly method: string;
  readonly caller: string;
  /** The Unix second each slot holds (-1: empty). */
  readonly second: Int32Array;
  readonly calls: Uint32Array;
  readonly errors: Uint32Array;
  /** RED_BUCKETS counts per slot. */
  readonly buckets: Uint32Array;

  constructor(service: string, method: string, caller: string, slots: number) {
    this.service = service;
    this.method = method;
    this.caller = caller;
    this.second = new Int32Array(slots).fill(-1);
    this.calls = new Uint32Array(slots);
    this.errors = new Uint32Array(slots);
    this.buckets = new Uint32Array(slots * RED_BUCKETS);
  }

  /** The slot of `unixS`, cleared when it held an older second. */
  slot(unixS: number): number {
    const slot = unixS % this.second.length;
    if (this.second[slot] !== unixS) {
      this.second[slot] = unixS;
      this.calls[slot] = 0;
      this.errors[slot] = 0;
      this.buckets.fill(0, slot * RED_BUCKETS, (slot + 1) * RED_BUCKETS);
    }
    return slot;
  }

  /** Records one call that took `ms` and ended at `unixS`. */
  record(unixS: number, ms: number, error: boolean): void {
    const slot = this.slot(unixS);
    this.calls[slot]++;
    if (error) this.errors[slot]++;
    this.buckets[slot * RED_BUCKETS + bucketOf(ms)]++;
  }
}

/** The bucket index of a duration in milliseconds. */
export function bucketOf(ms: number): number {
  const bounds = RED_BUCKET_BOUNDS_MS;
  let i = 0;
  while (i < bounds.length && ms > bounds[i]) i++;
  return i;
}

/** The `q` quantile (0..1) of bucket counts, interpolated within its bucket, in milliseconds. */
export function quantileMs(buckets: ArrayLike<number>, total: number, q: number): number {
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i];
    if (n === 0) continue;
    if (seen + n >= rank) {
      if (i >= RED_BUCKET_BOUNDS_MS.length) return RED_BUCKET_BOUNDS_MS[RED_BUCKET_BOUNDS_MS.length - 1];
      const low = i === 0 ? 0 : RED_BUCKET_BOUNDS_MS[i - 1];
      const high = RED_BUCKET_BOUNDS_MS[i];
      return low + ((high - low) * (rank - seen)) / n;
    }
    seen += n;
  }
  return RED_BUCKET_BOUNDS_MS[RED_BUCKET_BOUNDS_MS.length - 1];
}

/** A bounded sliding window of RED figures. */
export class RedWindow {
  readonly seconds: number;
  readonly #maxKeys: number;
  readonly #maxCallers: number;
  readonly #keys = new Map<string, RedKey>();
  readonly #callers = new Map<string, Set<string>>();
  /** Records dropped because `maxKeys` was reached. */
  dropped = 0;

  constructor(options: RedWindowOptions = {}) {
    this.seconds = options.seconds ?? 60;
    this.#maxKeys = options.maxKeys ?? 512;
    this.#maxCallers = options.maxCallersPerMethod ?? 16;
    if (!Number.isInteger(this.seconds) || this.seconds < 1) throw new RangeError("options.seconds must be a positive integer");
    if (!Number.isInteger(this.#maxKeys) || this.#maxKeys < 1) throw new RangeError("options.maxKeys must be a positive integer");
  }

  /** Keys held. */
  get size(): number {
    return this.#keys.size;
  }

  /** The slots of a key, created at first use; undefined once `maxKeys` is reached. */
  key(service: string, method: string, caller: string): RedKey | undefined {
    const id = `${service}/${method}\u0000${caller}`;
    const found = this.#keys.get(id);
    if (found !== undefined) return found;
    const methodId = `${service}/${method}`;
    let callers = this.#callers.get(methodId);
    if (callers === undefined) this.#callers.set(methodId, (callers = new Set()));
    if (caller !== OTHER_CALLER && !callers.has(caller) && callers.size >= this.#maxCallers) return this.key(service, method, OTHER_CALLER);
    if (this.#keys.size >= this.#maxKeys) {
      this.dropped++;
      return undefined;
    }
    callers.add(caller);
    const key = new RedKey(service, method, caller, this.seconds);
    this.#keys.set(id, key);
    return key;
  }

  /** Adds one second's raw figures (from another instance) into this window. */
  merge(second: RedSecond): void {
    const key = this.key(second.service, second.method, second.caller);
    if (key === undefined) return;
    const slot = key.slot(second.unixS);
    key.calls[slot] += second.calls;
    key.errors[slot] += second.errors;
    const base = slot * RED_BUCKETS;
    for (let i = 0; i < RED_BUCKETS && i < second.buckets.length; i++) key.buckets[base + i] += second.buckets[i];
  }

  /** Every key's figures over the `windowS` seconds ending with `toUnixS` (inclusive); keys without calls are left out. */
  summarize(toUnixS: number, windowS: number): RedSummary[] {
    const from = toUnixS - Math.min(windowS, this.seconds) + 1;
    const sum = new Float64Array(RED_BUCKETS);
    const out: RedSummary[] = [];
    for (const key of this.#keys.values()) {
      sum.fill(0);
      let calls = 0;
      let errors = 0;
      for (let slot = 0; slot < key.second.length; slot++) {
        const s = key.second[slot];
        if (s < from || s > toUnixS) continue;
        calls += key.calls[slot];
        errors += key.errors[slot];
        const base = slot * RED_BUCKETS;
        for (let i = 0; i < RED_BUCKETS; i++) sum[i] += key.buckets[base + i];
      }
      if (calls === 0) continue;
      out.push({
        service: key.service,
        method: key.method,
        caller: key.caller,
        calls,
        errors,
        rate: calls / Math.min(windowS, this.seconds),
        errorRate: errors / calls,
        p50Ms: quantileMs(sum, calls, 0.5),
        p95Ms: quantileMs(sum, calls, 0.95),
        p99Ms: quantileMs(sum, calls, 0.99),
      });
    }
    return out;
  }

  /** The raw figures of every key with calls in the seconds `fromUnixS..toUnixS` (inclusive). */
  secondsBetween(fromUnixS: number, toUnixS: number): RedSecond[] {
    const out: RedSecond[] = [];
    for (const key of this.#keys.values()) {
      for (let slot = 0; slot < key.second.length; slot++) {
        const s = key.second[slot];
        if (s < fromUnixS || s > toUnixS || key.calls[slot] === 0) continue;
        const base = slot * RED_BUCKETS;
        out.push({ service: key.service, method: key.method, caller: key.caller, unixS: s, calls: key.calls[slot], errors: key.errors[slot], buckets: Array.from(key.buckets.subarray(base, base + RED_BUCKETS)) });
      }
    }
    return out;
  }

  /** Per-second series of every key with calls over the `windowS` seconds ending with `toUnixS`. */
  series(toUnixS: number, windowS: number): RedSeries[] {
    const n = Math.min(windowS, this.seconds);
    const start = toUnixS - n + 1;
    const out: RedSeries[] = [];
    for (const key of this.#keys.values()) {
      const calls = new Array<number>(n).fill(0);
      const errors = new Array<number>(n).fill(0);
      const p99Ms = new Array<number>(n).fill(0);
      let any = false;
      for (let slot = 0; slot < key.second.length; slot++) {
        const s = key.second[slot];
        if (s < start || s > toUnixS || key.calls[slot] === 0) continue;
        const i = s - start;
        any = true;
        calls[i] = key.calls[slot];
        errors[i] = key.errors[slot];
        p99Ms[i] = quantileMs(key.buckets.subarray(slot * RED_BUCKETS, (slot + 1) * RED_BUCKETS), key.calls[slot], 0.99);
      }
      if (any) out.push({ service: key.service, method: key.method, caller: key.caller, startUnixS: start, calls, errors, p99Ms });
    }
    return out;
  }
}
