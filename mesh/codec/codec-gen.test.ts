// Differential fuzz over every message schema reachable from gen/: random messages (seeded, so a
// failure names the seed that reproduces it) through toBinary, fromBinary, toJsonString and
// fromJsonString of protobuf-es and of the compiled codec; results must be identical.

import { describe, expect, it } from "vitest";
import type { DescMessage } from "@bufbuild/protobuf";
import { compileCodec } from "./index.ts";
import { genFiles, reachableMessages } from "./test-support/gen-schemas.ts";
import { randomMessage } from "./test-support/random-message.ts";
import { Rng } from "./test-support/rng.ts";
import { checkMessage } from "./test-support/differential.ts";

const CASES = 300;
const schemas = reachableMessages(await genFiles());

/** Runs `cases` seeded random messages of `schema`; returns the first failure with its seed. */
function fuzz(schema: DescMessage, cases: number): string | undefined {
  const codec = compileCodec(schema);
  for (let i = 0; i < cases; i++) {
    const seed = (i + 1) * 2654435761;
    const message = randomMessage(new Rng(seed), schema, { maxDepth: 3, invalid: true });
    const failure = checkMessage(schema, codec, message);
    if (failure !== undefined) return `seed ${seed}: ${failure}`;
  }
  return undefined;
}

describe("compiled codecs on the gen/ schemas", () => {
  it("finds the schemas and compiles all of them (only Timestamp's custom JSON form is delegated)", () => {
    expect(schemas.length).toBeGreaterThan(50);
    for (const schema of schemas) {
      const { mode } = compileCodec(schema);
      expect(mode.binary, schema.typeName).toEqual({ compiled: true });
      if (schema.typeName !== "google.protobuf.Timestamp") expect(mode.json, schema.typeName).toEqual({ compiled: true });
    }
  });

  for (const schema of schemas) {
    it(`${schema.typeName}: ${CASES} random messages match protobuf-es in all four directions`, () => {
      expect(fuzz(schema, CASES)).toBeUndefined();
    });
  }
});
