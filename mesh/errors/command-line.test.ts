// readCommandLine: a boolean flag can be turned off with --no-<flag> (bench:footprint documents
// --no-services; parseArgs refused it as an unknown flag before allowNegative).

import { describe, expect, it } from "vitest";
import { readCommandLine } from "./index.ts";

const spec = {
  usage: "test",
  summary: "test",
  flags: { services: { type: "boolean", default: true, description: "measure the services" } },
} as const;

describe("readCommandLine", () => {
  it("takes a boolean flag's default, and --no-<flag> turns it off", () => {
    expect(readCommandLine(spec, []).values.services).toBe(true);
    expect(readCommandLine(spec, ["--no-services"]).values.services).toBe(false);
    expect(readCommandLine(spec, ["--services"]).values.services).toBe(true);
  });
});
