// The paired measurement's arithmetic, on sides whose rates are known: the ratio survives a slow spell
// that a ratio of separate runs would read as a difference, the order alternates, and a slice with a
// problem leaves no ratio.

import { describe, expect, it } from "vitest";
import { interquartileMean, measurePaired, type SliceSide } from "./paired-slices.ts";

/** A machine whose speed changes over time: 1.0, with a 0.6 spell over slices `from`..`to` (global slice count). */
function machine(spell: { from: number; to: number }) {
  let slices = 0;
  const order: string[] = [];
  const side = (name: string, rate: number, problemAt?: number): SliceSide => ({
    slice: async () => {
      const n = slices++;
      order.push(name);
      const speed = n >= spell.from && n <= spell.to ? 0.6 : 1;
      return { rate: rate * speed, problems: n === problemAt ? ["wrong response"] : [], usPerCall: { server: 1e6 / rate } };
    },
  });
  return { side, order };
}

const fast = { sliceMs: 1, pairs: 10, warmupMs: 0, maxWarmupMs: 0, probe: false };

describe("measurePaired", () => {
  it("keeps the true ratio through a slow spell that covers some pairs, alternating which side goes first", async () => {
    const m = machine({ from: 4, to: 13 });
    const result = await measurePaired(m.side("weft", 2000), m.side("peer", 1000), fast);
    expect(result.problems).toEqual([]);
    expect(result.ratio).toBe(2);
    expect(result.subject?.rates.filter((r) => r === 1200).length).toBeGreaterThan(0); // the spell was there
    // The measured pairs after the one warm-up pair: A B, B A, A B, ...
    expect(m.order.slice(2, 8)).toEqual(["weft", "peer", "peer", "weft", "weft", "peer"]);
    expect(result.ratioQuartiles).toEqual([2, 2]);
    expect(result.subject?.usPerCall?.server).toBe(500);
  });

  it("shows a spell that begins between a pair's two slices as one pair off, not as the verdict", async () => {
    const m = machine({ from: 7, to: 100 });
    const result = await measurePaired(m.side("weft", 1500), m.side("peer", 1000), fast);
    expect(result.pairRatios.filter((r) => r !== 1.5)).toHaveLength(1);
    expect(result.ratio).toBe(1.5);
  });

  it("has no ratio when a slice had a problem, and says which side", async () => {
    const m = machine({ from: 100, to: 100 });
    const result = await measurePaired(m.side("weft", 1000, 5), m.side("peer", 1000), fast);
    expect(result.ratio).toBeUndefined();
    expect(result.problems).toEqual(["subject: wrong response"]);
  });

  it("warms up until both sides stop rising, at least the minimum", async () => {
    let s = 0;
    let b = 0;
    const rising = (count: () => number, ceiling: number): SliceSide => ({
      slice: async () => ({ rate: Math.min(ceiling, 100 * count()), problems: [] }),
    });
    const subject = rising(() => ++s, 1000);
    const baseline = rising(() => ++b, 2000);
    const result = await measurePaired(subject, baseline, { sliceMs: 1, pairs: 2, warmupMs: 0, maxWarmupMs: 60_000, probe: false });
    expect(result.steady).toBe(true);
    // The baseline reaches its ceiling at its 20th slice; four flat windows later both stopped rising.
    expect(b).toBeGreaterThanOrEqual(22);
    expect(result.ratio).toBe(0.5);
  });
});

describe("interquartileMean", () => {
  it("averages the middle half, so one or two extreme pairs do not move it, and is the median below four values", () => {
    expect(interquartileMean([1, 1.1, 0.9, 1, 5, 0.1, 1, 1])).toBeCloseTo(1, 5);
    expect(interquartileMean([0.8, 0.9, 1.0, 1.1, 1.2, 3.0, 0.1, 1.0])).toBeCloseTo((0.8 + 0.9 + 1.0 + 1.0 + 1.1 + 1.2) / 6, 5);
    expect(interquartileMean([2, 4, 9])).toBe(4);
  });
});
