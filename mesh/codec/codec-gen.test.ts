// Differential fuzz over every message schema reachable from gen/: random messages (seeded, so a
// failure names the seed that reproduces it) through toBinary, fromBinary, toJsonString and
// fromJsonString of protobuf-es and of the compiled codec; results must be identical.

import { describe, expect, it } from "vitest";
import { compileCodec } from "./index.ts";
import { genFiles, reachableMessages } from "../../test/support/codec/gen-schemas.ts";
import { fuzzMessages } from "../../test/support/codec/fuzz.ts";

const CASES = 300;
const schemas = reachableMessages(await genFiles());

describe("compiled codecs on the gen/ schemas", () => {
  it("finds the schemas and compiles all of them (only Timestamp's and Duration's custom JSON forms are delegated)", () => {
    expect(schemas.length).toBeGreaterThan(50);
    for (const schema of schemas) {
      const { mode } = compileCodec(schema);
      expect(mode.binary, schema.typeName).toEqual({ compiled: true });
      if (schema.typeName !== "google.protobuf.Timestamp" && schema.typeName !== "google.protobuf.Duration") expect(mode.json, schema.typeName).toEqual({ compiled: true });
    }
  });

  for (const schema of schemas) {
    it(`${schema.typeName}: ${CASES} random messages match protobuf-es in all four directions`, () => {
      const noisy = fuzzMessages(schema, CASES);
      expect(noisy.failure).toBeUndefined();
      // Agreeing by both throwing proves nothing: with messages that hold only valid values too (large
      // proto2 schemas such as descriptor.proto's rarely come out clean otherwise), at least a tenth must
      // make the full round trip.
      const clean = fuzzMessages(schema, CASES / 10, false);
      expect(clean.failure).toBeUndefined();
      expect(noisy.roundTrips + clean.roundTrips).toBeGreaterThanOrEqual(CASES / 10);
    });
  }
});
