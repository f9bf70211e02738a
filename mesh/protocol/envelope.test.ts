import { describe, expect, it } from "vitest";
import { FrameReader, encodeFrame } from "./envelope.ts";
import type { Frame } from "./envelope.ts";

describe("FrameReader", () => {
  it("reassembles frames split at every byte boundary", () => {
    const wire = Buffer.concat([encodeFrame(0, Buffer.from("hello")), encodeFrame(1, Buffer.alloc(0)), encodeFrame(0x80, Buffer.from("x"))]);
    for (let cut = 1; cut < wire.length; cut++) {
      const r = new FrameReader(100);
      const out: Frame[] = [];
      r.push(wire.subarray(0, cut), out);
      r.push(wire.subarray(cut), out);
      r.finish();
      expect(r.problem).toBeUndefined();
      expect(out.map((f) => [f.flags, f.data.toString()])).toEqual([[0, "hello"], [1, ""], [0x80, "x"]]);
    }
  });

  it("rejects a frame declaring more than the limit from its header alone", () => {
    const r = new FrameReader(10);
    const head = encodeFrame(0, Buffer.alloc(11)).subarray(0, 5);
    r.push(head, []);
    expect(r.problem).toBe("oversize");
    expect(r.declared).toBe(11);
    expect(r.pending).toBe(0);
  });

  it("accepts a frame of exactly the limit", () => {
    const r = new FrameReader(10);
    const out: Frame[] = [];
    r.push(encodeFrame(0, Buffer.alloc(10)), out);
    expect(out.length).toBe(1);
    expect(r.problem).toBeUndefined();
  });

  it("reports a partial frame at the end as truncated", () => {
    const r = new FrameReader(10);
    r.push(encodeFrame(0, Buffer.alloc(4)).subarray(0, 7), []);
    r.finish();
    expect(r.problem).toBe("truncated");
  });
});
