// Where a run writes: only a full run updates the committed bench/results/latest.* (issue 18).
import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { parseOptions } from "./options.ts";

describe("bench options: results folder", () => {
  it("a full run writes bench/results", () => {
    expect(parseOptions([]).outDir).toMatch(/bench\/results$/);
  });
  it("--quick writes a temporary folder unless --out is given", () => {
    expect(parseOptions(["--quick"]).outDir.startsWith(tmpdir())).toBe(true);
    expect(parseOptions(["--quick", "--out", "/tmp/x"]).outDir).toBe("/tmp/x");
  });
});
