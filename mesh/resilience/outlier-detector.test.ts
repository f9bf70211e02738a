import { describe, expect, it } from "vitest";
import { createOutlierDetector } from "./outlier-detector.ts";

describe("outlier detector", () => {
  it("ejects after consecutive failures, for growing jittered times", async () => {
    const d = createOutlierDetector({ consecutiveFailures: 3, baseEjectionMs: 40, maxEjectionMs: 1000, ejectionJitter: 0.2 });
    d.onFailure("a", 3);
    d.onFailure("a", 3);
    d.onSuccess("a"); // the run restarts
    d.onFailure("a", 3);
    d.onFailure("a", 3);
    expect(d.isEjected("a")).toBe(false);
    const before = Date.now();
    const first = d.onFailure("a", 3);
    const after = Date.now();
    expect(first?.ejections).toBe(1);
    expect(first!.durationMs).toBeGreaterThanOrEqual(32);
    expect(first!.durationMs).toBeLessThanOrEqual(48);
    // Asked at given instants rather than after a sleep a busy machine can stretch past the ejection.
    expect(d.isEjected("a", after)).toBe(true);
    expect(d.isEjected("a", before + first!.durationMs - 1)).toBe(true);
    expect(d.isEjected("a", after + first!.durationMs)).toBe(false);
    await new Promise((r) => setTimeout(r, after + first!.durationMs + 1 - Date.now()));
    for (let i = 0; i < 2; i++) d.onFailure("a", 3);
    const second = d.onFailure("a", 3);
    expect(second?.ejections).toBe(2);
    expect(second!.durationMs).toBeGreaterThanOrEqual(64);
    expect(second!.durationMs).toBeLessThanOrEqual(96);
  });

  it("never ejects more than maxEjectionPercent of the endpoints", () => {
    const d = createOutlierDetector({ consecutiveFailures: 1, maxEjectionPercent: 50 });
    expect(d.onFailure("a", 4)).toBeDefined();
    expect(d.onFailure("b", 4)).toBeDefined();
    expect(d.onFailure("c", 4)).toBeUndefined();
    expect(d.isEjected("c")).toBe(false);
  });
});
