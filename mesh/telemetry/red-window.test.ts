// The RED window: figures over a sliding window of seconds, percentiles from fixed buckets, merging,
// and the caps that keep its memory fixed.

import { describe, expect, it } from "vitest";
import { OTHER_CALLER, quantileMs, RED_BUCKETS, RedWindow } from "./red-window.ts";

describe("RedWindow", () => {
  it("sums the seconds inside the window only, with rate, error rate and bucket percentiles", () => {
    const w = new RedWindow({ seconds: 60 });
    const key = w.key("s.v1.S", "M", "")!;
    for (let i = 0; i < 98; i++) key.record(1000, 3, false); // bucket (2, 4]
    key.record(1000, 300, true); // bucket (256, 512]
    key.record(1000, 300, false);
    key.record(900, 1, false); // outside a 60 s window ending at 1000
    const [s] = w.summarize(1000, 10);
    expect(s).toMatchObject({ calls: 100, errors: 1, rate: 10, errorRate: 0.01 });
    expect(s.p50Ms).toBeGreaterThan(2);
    expect(s.p50Ms).toBeLessThanOrEqual(4);
    expect(s.p99Ms).toBeGreaterThan(256);
    expect(s.p99Ms).toBeLessThanOrEqual(512);
  });

  it("reuses a slot for a new second (the ring never grows)", () => {
    const w = new RedWindow({ seconds: 4 });
    const key = w.key("s", "m", "")!;
    key.record(10, 1, false);
    key.record(14, 1, false); // same slot as 10, which is cleared
    expect(w.summarize(14, 4)[0].calls).toBe(1);
  });

  it("merges raw seconds from another window", () => {
    const a = new RedWindow();
    a.key("s", "m", "c")!.record(50, 5, true);
    const b = new RedWindow({ seconds: 900 });
    for (const second of a.secondsBetween(0, 60)) b.merge(second);
    b.merge({ service: "s", method: "m", caller: "c", unixS: 50, calls: 2, errors: 0, buckets: new Array(RED_BUCKETS).fill(0).map((_, i) => (i === 0 ? 2 : 0)) });
    expect(b.summarize(60, 900)[0]).toMatchObject({ calls: 3, errors: 1 });
  });

  it("caps callers per method and keys overall", () => {
    const w = new RedWindow({ maxKeys: 3, maxCallersPerMethod: 2 });
    expect(w.key("s", "m", "a")!.caller).toBe("a");
    expect(w.key("s", "m", "b")!.caller).toBe("b");
    expect(w.key("s", "m", "c")!.caller).toBe(OTHER_CALLER);
    expect(w.key("s", "n", "a")).toBeUndefined();
    expect(w.size).toBe(3);
    expect(w.dropped).toBe(1);
  });

  it("quantileMs of nothing is 0", () => {
    expect(quantileMs(new Array(RED_BUCKETS).fill(0), 0, 0.99)).toBe(0);
  });
});
