// Malformed and unusual input, generated: encodings of random messages corrupted byte by byte, and
// JSON texts varied (other accepted spellings, wrong types, duplicate, escaped and unknown keys, bad
// base64, lone surrogates). The compiled decoders must throw exactly when protobuf-es throws, and
// otherwise return the same message. Likewise the encoders, for messages holding values of the wrong
// JavaScript type.

import { describe, expect, it } from "vitest";
import { coverageFiles } from "../../test/support/codec/coverage-files.ts";
import { genFiles, reachableMessages } from "../../test/support/codec/gen-schemas.ts";
import { fuzzMalformed, fuzzWrongTypes } from "../../test/support/codec/fuzz.ts";

const CASES = 80;
const PER_CASE = 5;
const WRONG_TYPE_CASES = 150;
const SUMMARY_CASES = 8;
const schemas = reachableMessages([...(await genFiles()), ...coverageFiles()]);

describe("compiled decoders on malformed input", () => {
  for (const schema of schemas) {
    it(`${schema.typeName}: ${CASES * PER_CASE} corrupted encodings and JSON variants each`, () => {
      expect(fuzzMalformed(schema, CASES, PER_CASE).failure).toBeUndefined();
    });
  }

  for (const schema of schemas) {
    it(`${schema.typeName}: ${WRONG_TYPE_CASES} messages with a value of the wrong type encode like protobuf-es`, () => {
      const { failure, encoded } = fuzzWrongTypes(schema, WRONG_TYPE_CASES);
      expect(failure).toBeUndefined();
      // Both encoders refusing is agreement that proves nothing: some messages must be written.
      expect(encoded).toBeGreaterThan(0);
    });
  }

  // Runs its own (smaller) pass rather than summing the tests above, so it passes alone and in any order.
  it("exercises both outcomes: many inputs rejected, many accepted", () => {
    let accepted = 0;
    let rejected = 0;
    for (const schema of schemas) {
      const result = fuzzMalformed(schema, SUMMARY_CASES, PER_CASE);
      expect(result.failure).toBeUndefined();
      accepted += result.accepted;
      rejected += result.rejected;
    }
    expect(accepted).toBeGreaterThan(2_000);
    expect(rejected).toBeGreaterThan(2_000);
  }, 120_000);
});
