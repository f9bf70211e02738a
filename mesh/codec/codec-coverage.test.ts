// Differential fuzz over test-only schemas that cover what gen/ lacks (test/support/codec/coverage-files.ts):
// every scalar type in every cardinality, maps of every key type, oneofs, recursion, 64-bit fields
// as strings, well-known types, proto2 defaults, required fields and closed enums, editions features,
// and the messages the planner must hand to protobuf-es.

import { describe, expect, it } from "vitest";
import { compileCodec } from "./index.ts";
import { coverageFiles } from "../../test/support/codec/coverage-files.ts";
import { reachableMessages } from "../../test/support/codec/gen-schemas.ts";
import { fuzzMessages } from "../../test/support/codec/fuzz.ts";

const CASES = 400;
const schemas = reachableMessages(coverageFiles());
const byName = new Map(schemas.map((s) => [s.typeName, s]));

/** Expected delegations: type name -> [binary reason, JSON reason] fragments (undefined = compiled). */
const DELEGATED: Record<string, [string | undefined, string | undefined]> = {
  "codec.test.v2.WithGroup": ["delimited (group) encoding", undefined],
  "codec.test.ed.EdDelimited": ["delimited (group) encoding", undefined],
  "codec.test.v3.WithAny": [undefined, "google.protobuf.Any"],
  "codec.test.v3.WithNull": [undefined, "google.protobuf.NullValue"],
  "codec.test.v3.WithStruct": ["Struct as a JSON object", "Struct as a JSON object"],
  "codec.test.v3.WithWrapper": ["unwrapped wrapper value", "unwrapped wrapper value"],
  "codec.test.v3.ParentOfWrapper": ["WithWrapper: field w holds an unwrapped wrapper value", "WithWrapper: field w holds an unwrapped wrapper value"],
};

describe("compiled codecs on the coverage schemas", () => {
  it("compiles or delegates each schema as planned", () => {
    for (const schema of schemas) {
      const { mode } = compileCodec(schema);
      const wkt = schema.typeName.startsWith("google.protobuf.") && schema.typeName !== "google.protobuf.Empty";
      const [binary, json] = DELEGATED[schema.typeName] ?? [undefined, wkt ? "custom JSON form" : undefined];
      for (const [format, expected] of [[mode.binary, binary], [mode.json, json]] as const) {
        if (expected === undefined) expect(format, schema.typeName).toEqual({ compiled: true });
        else expect(format.compiled === false && format.reason, schema.typeName).toContain(expected);
      }
    }
    expect(byName.size).toBeGreaterThan(30);
  });

  for (const schema of schemas) {
    it(`${schema.typeName}: ${CASES} random messages match protobuf-es in all four directions`, () => {
      const { failure, roundTrips } = fuzzMessages(schema, CASES);
      expect(failure).toBeUndefined();
      // Agreeing by both throwing proves nothing: at least a tenth must make the full round trip.
      expect(roundTrips).toBeGreaterThanOrEqual(CASES / 10);
    });
  }
});
