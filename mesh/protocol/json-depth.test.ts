import { describe, expect, it } from "vitest";
import { jsonDeeperThan } from "./json-depth.ts";

const bytes = (text: string) => Buffer.from(text, "utf8");

describe("jsonDeeperThan", () => {
  it("counts arrays and objects, not brackets inside strings (escaped quotes included)", () => {
    expect(jsonDeeperThan(bytes('{"a":[{"b":[1]}]}'), 4)).toBe(false);
    expect(jsonDeeperThan(bytes('{"a":[{"b":[1]}]}'), 3)).toBe(true);
    expect(jsonDeeperThan(bytes(`{"s":"${"[".repeat(500)}","t":"\\"[[[[\\\\","u":[]}`), 2)).toBe(false);
    expect(jsonDeeperThan(bytes(`{"s":"\\\\"}${"[".repeat(3)}`), 2)).toBe(true);
    expect(jsonDeeperThan(bytes(""), 0)).toBe(false);
    expect(jsonDeeperThan(bytes('{"unterminated'), 0)).toBe(true);
    expect(jsonDeeperThan(bytes('"unterminated [[[['), 1)).toBe(false);
  });

  it("refuses two million nested brackets without parsing them", () => {
    const body = Buffer.concat([Buffer.alloc(2_097_000, "["), Buffer.alloc(2_097_000, "]")]);
    expect(jsonDeeperThan(body, 100)).toBe(true);
    const wide = bytes(JSON.stringify({ items: Array.from({ length: 10_000 }, (_, i) => ({ id: `p-${i}`, tags: ["a", "b"] })) }));
    expect(jsonDeeperThan(wide, 4)).toBe(false);
    expect(jsonDeeperThan(wide, 3)).toBe(true);
  });
});
