// Metric families whose label children are plain cells (a number, or bucket counts) resolved once per
// label set and then updated with no lookup, hashing or allocation; prom-client reads them at scrape
// time through each family's `get()`, and does the registry and the exposition format. prom-client's
// own children hash their label values on every update, which costs more than a call's other work.

import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { MetricDeclaration } from "./names.ts";

/** A counter or gauge child: add to `value` directly. */
export interface ValueCell {
  value: number;
}

/** A histogram child. */
export interface HistogramCell {
  /** Records one observation (seconds). */
  observe(value: number): void;
}

type LabelValues = Record<string, string>;
type CounterSnapshot = Awaited<ReturnType<Counter["get"]>>;
type HistogramSnapshot = Awaited<ReturnType<Histogram["get"]>>;

// prom-client's registry formats a value's `sharedLabels` object once and caches the text by object, so
// every value hands over its label set's one object there (and the same tiny `le` objects as `labels`):
// a scrape then formats no label set twice. A fresh object per value made scrapes ~3x slower.
const NO_LABELS: LabelValues = Object.freeze({}) as LabelValues;

/** Joins label values into a map key (only at first use of a label set). */
function keyOf(values: readonly string[]): string {
  return values.join("\u0000");
}

function labelsOf(names: readonly string[], values: readonly string[]): LabelValues {
  const labels: LabelValues = {};
  for (let i = 0; i < names.length; i++) labels[names[i]] = values[i];
  return labels;
}

class ValueCells {
  readonly #names: readonly string[];
  readonly #cells = new Map<string, { labels: LabelValues; cell: ValueCell }>();

  constructor(names: readonly string[]) {
    this.#names = names;
  }

  cell(values: readonly string[]): ValueCell {
    const key = keyOf(values);
    let entry = this.#cells.get(key);
    if (entry === undefined) this.#cells.set(key, (entry = { labels: labelsOf(this.#names, values), cell: { value: 0 } }));
    return entry.cell;
  }

  /** What prom-client's registry reads at a scrape. */
  snapshot(d: MetricDeclaration, type: "counter" | "gauge"): CounterSnapshot {
    const values: { labels: LabelValues; sharedLabels: LabelValues; value: number }[] = [];
    for (const { labels, cell } of this.#cells.values()) values.push({ labels: NO_LABELS, sharedLabels: labels, value: cell.value });
    return { name: d.name, help: d.help, type, aggregator: "sum", values } as unknown as CounterSnapshot;
  }
}

/** A counter whose children are {@link ValueCell}s. */
export class CounterFamily extends Counter {
  readonly #cells: ValueCells;
  readonly #declaration: MetricDeclaration;

  constructor(declaration: MetricDeclaration, registry: Registry) {
    super({ name: declaration.name, help: declaration.help, labelNames: declaration.labels, registers: [registry] });
    this.#declaration = declaration;
    this.#cells = new ValueCells(declaration.labels);
  }

  /** The child for these label values (in the declaration's label order), created at first use. */
  cell(...values: string[]): ValueCell {
    return this.#cells.cell(values);
  }

  override async get(): Promise<CounterSnapshot> {
    return this.#cells.snapshot(this.#declaration, "counter");
  }
}

/** A gauge whose children are {@link ValueCell}s (set or add to `value`). */
export class GaugeFamily extends Gauge {
  readonly #cells: ValueCells;
  readonly #declaration: MetricDeclaration;

  constructor(declaration: MetricDeclaration, registry: Registry) {
    super({ name: declaration.name, help: declaration.help, labelNames: declaration.labels, registers: [registry] });
    this.#declaration = declaration;
    this.#cells = new ValueCells(declaration.labels);
  }

  cell(...values: string[]): ValueCell {
    return this.#cells.cell(values);
  }

  override async get(): Promise<CounterSnapshot> {
    return this.#cells.snapshot(this.#declaration, "gauge");
  }
}

class BucketCell implements HistogramCell {
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/** A histogram whose children are {@link HistogramCell}s with fixed buckets. */
export class HistogramFamily extends Histogram {
  readonly #declaration: MetricDeclaration;
  readonly #bounds: readonly number[];
  readonly #cells = new Map<string, { labels: LabelValues; cell: BucketCell }>();
  /** The `le` label of each bucket, then "+Inf". */
  readonly #le: readonly LabelValues[];

  constructor(declaration: MetricDeclaration, buckets: readonly number[], registry: Registry) {
    super({ name: declaration.name, help: declaration.help, labelNames: declaration.labels, buckets: [...buckets], registers: [registry] });
    this.#declaration = declaration;
    this.#bounds = [...buckets];
    this.#le = [...buckets.map((b) => ({ le: String(b) })), { le: "+Inf" }];
  }

  cell(...values: string[]): HistogramCell {
    const key = keyOf(values);
    let entry = this.#cells.get(key);
    if (entry === undefined) {
      entry = { labels: labelsOf(this.#declaration.labels, values), cell: new BucketCell(this.#bounds) };
      this.#cells.set(key, entry);
    }
    return entry.cell;
  }

  override async get(): Promise<HistogramSnapshot> {
    const d = this.#declaration;
    const values: { labels: LabelValues; sharedLabels: LabelValues; value: number; metricName: string }[] = [];
    const bucket = `${d.name}_bucket`;
    const sum = `${d.name}_sum`;
    const count = `${d.name}_count`;
    const le = this.#le;
    for (const { labels, cell } of this.#cells.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += cell.counts[i];
        values.push({ labels: le[i], sharedLabels: labels, value: cumulative, metricName: bucket });
      }
      values.push({ labels: le[this.#bounds.length], sharedLabels: labels, value: cell.count, metricName: bucket });
      values.push({ labels: NO_LABELS, sharedLabels: labels, value: cell.sum, metricName: sum });
      values.push({ labels: NO_LABELS, sharedLabels: labels, value: cell.count, metricName: count });
    }
    return { name: d.name, help: d.help, type: "histogram", aggregator: "sum", values } as unknown as HistogramSnapshot;
  }

  /** prom-client's registry renders histograms from this (untyped) method rather than `get()`. */
  async getForPromString(): Promise<HistogramSnapshot> {
    return this.get();
  }
}
