// Differential fuzz of compileClone against protobuf-es's clone(): random messages (odd values
// included) and messages holding a value of the wrong type, over the coverage schemas and every schema
// of gen/. Both must give the same message (prototype, keys and their order, values) sharing the same
// parts of the original (Buffer.slice() is a view), or both throw.

import { clone, create } from "@bufbuild/protobuf";
import type { DescMessage, Message } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { compileClone } from "./index.ts";
import { coverageFiles } from "../../test/support/codec/coverage-files.ts";
import { genFiles, reachableMessages } from "../../test/support/codec/gen-schemas.ts";
import { messageDiff } from "../../test/support/codec/message-diff.ts";
import { spoilMessage } from "../../test/support/codec/mutate.ts";
import { randomMessage } from "../../test/support/codec/random-message.ts";
import { Rng } from "../../test/support/codec/rng.ts";

const CASES = 200;
const coverage = reachableMessages(coverageFiles());
const gen = reachableMessages(await genFiles());

/** Every object reachable from `value`. */
function objectsOf(value: unknown, into = new Set<object>()): Set<object> {
  if (value === null || typeof value !== "object" || into.has(value)) return into;
  into.add(value);
  if (!(value instanceof Uint8Array)) for (const v of Object.values(value)) objectsOf(v, into);
  return into;
}

/** The first path where one copy shares an object of the original and the other does not. */
function sharingDiff(a: unknown, b: unknown, original: Set<object>, path = "$"): string | undefined {
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return undefined;
  if (original.has(a) !== original.has(b)) return `${path}: shared by ${original.has(a) ? "protobuf-es" : "the compiled clone"} only`;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.buffer === b.buffer || original.has(a) ? undefined : sharesBuffer(a, b, original, path);
  for (const k of Object.keys(a)) {
    const d = sharingDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], original, `${path}.${k}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

/** Bytes copies agree on whether they are views of an original's memory. */
function sharesBuffer(a: Uint8Array, b: Uint8Array, original: Set<object>, path: string): string | undefined {
  const buffers = new Set([...original].filter((o) => o instanceof Uint8Array).map((o) => (o as Uint8Array).buffer));
  return buffers.has(a.buffer) === buffers.has(b.buffer) ? undefined : `${path}: bytes memory shared by one copy only`;
}

type Outcome = { readonly message: unknown } | { readonly threw: string };

function outcome(copy: () => unknown): Outcome {
  try {
    return { message: copy() };
  } catch (e) {
    return { threw: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

/** Where protobuf-es's clone and the compiled one disagree about `message`, or undefined. */
function cloneDiff(schema: DescMessage, message: Message): string | undefined {
  const original = objectsOf(message);
  const theirs = outcome(() => clone(schema, message));
  const ours = outcome(() => compileClone(schema).clone(message));
  if ("threw" in theirs || "threw" in ours) {
    return "threw" in theirs && "threw" in ours && theirs.threw === ours.threw ? undefined : `protobuf-es ${JSON.stringify(theirs)}, compiled ${JSON.stringify(ours)}`;
  }
  return messageDiff(theirs.message, ours.message) ?? sharingDiff(theirs.message, ours.message, original);
}

/** `CASES` random messages and as many spoiled ones; the first disagreement, and how many copies succeeded. */
function fuzzClone(schema: DescMessage): { failure: string | undefined; copied: number; compiled: number } {
  let copied = 0;
  let compiled = 0;
  for (let i = 0; i < CASES * 2; i++) {
    const seed = ((i + 1) * 2654435761) >>> 0;
    const rng = new Rng(seed);
    const message = randomMessage(rng, schema, { maxDepth: 3, invalid: i % 2 === 0 });
    if (i >= CASES) spoilMessage(rng, schema, message as Message & Record<string, unknown>);
    const failure = cloneDiff(schema, message);
    if (failure !== undefined) return { failure: `seed ${seed}${i >= CASES ? " (spoiled)" : ""}: ${failure}`, copied, compiled };
    if (!("threw" in outcome(() => clone(schema, message)))) copied++;
    if (compileClone(schema).tryClone(message) !== undefined) compiled++;
  }
  return { failure: undefined, copied, compiled };
}

describe("compileClone", () => {
  it("compiles every gen/ schema, and hands maps, 64-bit strings, Struct and unwrapped wrappers to protobuf-es", () => {
    for (const schema of gen) {
      const { mode } = compileClone(schema);
      // descriptor.proto's options hold maps nowhere, but FeatureSet defaults and the like are plain messages.
      if (mode.compiled === false) expect(mode.reason, schema.typeName).toMatch(/map|as strings|Struct|wrapper/);
    }
    expect(gen.filter((s) => compileClone(s).mode.compiled).length).toBeGreaterThan(50);
    const reasons = new Map(coverage.map((s) => [s.typeName, compileClone(s).mode]));
    expect(reasons.get("codec.test.v3.WithStruct")).toMatchObject({ compiled: false, reason: expect.stringContaining("Struct as a JSON object") });
    expect(reasons.get("codec.test.v3.WithWrapper")).toMatchObject({ compiled: false, reason: expect.stringContaining("unwrapped wrapper value") });
  });

  for (const schema of [...coverage, ...gen]) {
    it(`${schema.typeName}: random and spoiled messages copy as protobuf-es copies them`, () => {
      const { failure, copied, compiled } = fuzzClone(schema);
      expect(failure).toBeUndefined();
      // Agreeing by both throwing proves nothing: most random messages must copy, and the compiled
      // code (not protobuf-es behind it) must copy most of the clean ones.
      expect(copied).toBeGreaterThanOrEqual(CASES / 2);
      if (compileClone(schema).mode.compiled) expect(compiled).toBeGreaterThanOrEqual(CASES / 4);
    });
  }

  it("copies a message deeply: changing the copy leaves the original alone", () => {
    const schema = coverage.find((s) => s.fields.some((f) => f.fieldKind === "list" && f.listKind === "message"))!;
    const original = randomMessage(new Rng(7), schema, { maxDepth: 3, invalid: false }) as Message & { $unknown?: unknown };
    // Unknown fields: protobuf-es copies their list, not the records in it (as the differential checks).
    delete original.$unknown;
    const copy = compileClone(schema).clone(original) as Record<string, unknown>;
    expect(messageDiff(copy, clone(schema, original))).toBeUndefined();
    expect([...objectsOf(copy)].filter((o) => objectsOf(original).has(o) && !(o instanceof Uint8Array))).toEqual([]);
    expect(create(schema).$typeName).toBe(schema.typeName);
  });
});
