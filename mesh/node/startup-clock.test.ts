// The start-up clock: phases add up to the time from the process's start to ready, in the order they ran,
// and a phase timed twice adds up (a slow start must name where its time went, not lose part of it).

import { describe, expect, it } from "vitest";
import { createStartupClock } from "./startup-clock.ts";

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe("createStartupClock", () => {
  it("reports Node's bootstrap, the time before it started and each lap, adding up to readyMs", () => {
    const clock = createStartupClock();
    busy(5);
    clock.lap("nats");
    busy(2);
    clock.lap("listen");
    busy(3);
    clock.lap("nats");
    const t = clock.timings();
    expect(Object.keys(t)).toEqual(["readyMs", "nodeMs", "importsMs", "natsMs", "listenMs"]);
    expect(t.nodeMs).toBeGreaterThan(0);
    expect(t.natsMs).toBeGreaterThanOrEqual(8);
    expect(t.listenMs).toBeGreaterThanOrEqual(2);
    const sum = t.nodeMs! + t.importsMs! + t.natsMs! + t.listenMs!;
    // Each figure is rounded to 0.1 ms.
    expect(Math.abs(sum - t.readyMs!)).toBeLessThan(0.3);
    expect(t.readyMs).toBeLessThanOrEqual(performance.now());
  });
});
