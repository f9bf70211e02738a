import { describe, expect, it } from "vitest";
import { DrainSequence, drainOnSignals, SIGNAL_REPEAT_WINDOW_MS } from "./drain.ts";
import { silentLogger } from "../engine/index.ts";

describe("DrainSequence", () => {
  it("runs hooks by phase, then in the order added, and survives a failing hook", async () => {
    const ran: string[] = [];
    const sequence = new DrainSequence();
    sequence.add({ name: "close-1", phase: "close", run: () => void ran.push("close-1") });
    sequence.add({ name: "announce-1", phase: "announce", run: () => void ran.push("announce-1") });
    sequence.add({ name: "settle-1", phase: "settle", run: async () => void ran.push("settle-1") });
    sequence.add({ name: "announce-2", phase: "announce", run: () => Promise.reject(new Error("NATS down")) });
    sequence.add({ name: "refuse-1", phase: "refuse", run: () => void ran.push("refuse-1") });
    const errors: string[] = [];
    await sequence.run({ ...silentLogger, error: (_m, fields) => void errors.push(String(fields?.hook)) });
    expect(ran).toEqual(["announce-1", "refuse-1", "settle-1", "close-1"]);
    expect(errors).toEqual(["announce-2"]);
  });

  it("rejects an unknown phase", () => {
    expect(() => new DrainSequence().add({ name: "x", phase: "later" as never, run() {} })).toThrow(/phase/);
  });
});

describe("drainOnSignals", () => {
  it("drains once on the first signal and exits 0; a repeat within the window is the same request; a later signal exits 130 at once", async () => {
    let drains = 0;
    let release!: () => void;
    const codes: number[] = [];
    let clock = 0;
    const stop = drainOnSignals(
      { drain: () => (drains++, new Promise<void>((resolve) => (release = resolve))) },
      { signals: ["SIGUSR2"], exit: (code) => void codes.push(code), now: () => clock },
    );
    try {
      process.emit("SIGUSR2", "SIGUSR2");
      expect(drains).toBe(1);
      // The group's Ctrl-C and a parent's forwarded copy: one request.
      clock = SIGNAL_REPEAT_WINDOW_MS - 1;
      process.emit("SIGUSR2", "SIGUSR2");
      expect(codes).toEqual([]);
      clock = SIGNAL_REPEAT_WINDOW_MS;
      process.emit("SIGUSR2", "SIGUSR2");
      expect(codes).toEqual([130]);
      release();
      await new Promise((resolve) => setImmediate(resolve));
      expect(codes).toEqual([130, 0]);
      expect(drains).toBe(1);
    } finally {
      stop();
    }
    expect(process.listenerCount("SIGUSR2")).toBe(0);
  });

  it("exits 1 when the drain fails", async () => {
    const codes: number[] = [];
    const stop = drainOnSignals({ drain: () => Promise.reject(new Error("boom")) }, { signals: ["SIGUSR2"], exit: (code) => void codes.push(code) });
    try {
      process.emit("SIGUSR2", "SIGUSR2");
      await new Promise((resolve) => setImmediate(resolve));
      expect(codes).toEqual([1]);
    } finally {
      stop();
    }
  });
});
