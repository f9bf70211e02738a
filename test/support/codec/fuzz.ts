// The fuzz loops shared by the test files: random messages through all four directions, and
// corrupted encodings and JSON variants through both decoders. Seeds are derived from the case
// number, and every failure message starts with the seed that reproduces it.

import { toBinary, toJsonString } from "@bufbuild/protobuf";
import type { Message } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import { compileCodec } from "../../../mesh/codec/index.ts";
import { checkBinaryDecode, checkJsonDecode, checkMessage } from "./differential.ts";
import { mutateBytes, mutateJson, spoilMessage } from "./mutate.ts";
import { randomMessage } from "./random-message.ts";
import { Rng } from "./rng.ts";

function seedOf(i: number): number {
  return ((i + 1) * 2654435761) >>> 0;
}

/** Outcomes of a differential run: the first failure, and how many messages went through every direction. */
export interface FuzzResult {
  readonly failure: string | undefined;
  /** Messages both encoders wrote (binary and JSON) and both decoders read back alike: agreement by throwing does not count. */
  readonly roundTrips: number;
}

/**
 * `cases` random messages of `schema` through all four directions of both codecs; with `invalid`
 * (default true) some values are ones a decoder must refuse (unknown closed-enum numbers and the like).
 */
export function fuzzMessages(schema: DescMessage, cases: number, invalid = true): FuzzResult {
  const codec = compileCodec(schema);
  let roundTrips = 0;
  for (let i = 0; i < cases; i++) {
    const seed = seedOf(i);
    const { failure, roundTrip } = checkMessage(schema, codec, randomMessage(new Rng(seed), schema, { maxDepth: 3, invalid }));
    if (failure !== undefined) return { failure: `seed ${seed}: ${failure}`, roundTrips };
    if (roundTrip) roundTrips++;
  }
  return { failure: undefined, roundTrips };
}

/** Outcomes of a mutation run: the first failure, and how many inputs were accepted and rejected. */
export interface MutationResult {
  readonly failure: string | undefined;
  readonly accepted: number;
  readonly rejected: number;
}

/**
 * `cases` random messages of `schema`, each encoded by protobuf-es and corrupted `perCase` times
 * (binary) and varied `perCase` times (JSON, read strictly and with ignoreUnknownFields).
 */
export function fuzzMalformed(schema: DescMessage, cases: number, perCase: number): MutationResult {
  const codec = compileCodec(schema);
  const lenient = compileCodec(schema, { ignoreUnknownFields: true });
  let accepted = 0;
  let rejected = 0;
  const count = (decode: () => unknown) => {
    try {
      decode();
      accepted++;
    } catch {
      rejected++;
    }
  };
  for (let i = 0; i < cases; i++) {
    const seed = seedOf(i);
    const rng = new Rng(seed);
    const message = randomMessage(rng, schema, { maxDepth: 2, invalid: false });
    let bytes: Uint8Array | undefined;
    let json: string | undefined;
    try {
      bytes = toBinary(schema, message);
      json = toJsonString(schema, message);
    } catch {
      // A required field left unset: nothing to corrupt.
    }
    for (let j = 0; j < perCase && bytes !== undefined; j++) {
      const corrupted = mutateBytes(rng, bytes);
      const failure = checkBinaryDecode(schema, codec, corrupted);
      if (failure !== undefined) return { failure: `seed ${seed}, binary mutation ${j}: ${failure}`, accepted, rejected };
      count(() => codec.fromBinary(corrupted));
    }
    for (let j = 0; j < perCase && json !== undefined; j++) {
      const text = mutateJson(rng, json);
      const failure = checkJsonDecode(schema, codec, text) ?? checkJsonDecode(schema, lenient, text, true);
      if (failure !== undefined) return { failure: `seed ${seed}, JSON variant ${j}: ${failure}`, accepted, rejected };
      count(() => codec.fromJsonString(text));
    }
  }
  return { failure: undefined, accepted, rejected };
}

/** One encoder's output as text, or "throws". */
function outcome(encode: () => Uint8Array | string): string {
  try {
    const out = encode();
    return typeof out === "string" ? out : Buffer.from(out).toString("hex");
  } catch {
    return "throws";
  }
}

/** Outcomes of a wrong-type run: the first failure, and how many messages both encoders wrote and both refused. */
export interface WrongTypeResult {
  readonly failure: string | undefined;
  readonly encoded: number;
  readonly refused: number;
}

/**
 * `cases` random messages of `schema` with one value of the wrong JavaScript type each: both encoders
 * must give the same bytes and the same JSON text, or both throw.
 */
export function fuzzWrongTypes(schema: DescMessage, cases: number): WrongTypeResult {
  const codec = compileCodec(schema);
  let encoded = 0;
  let refused = 0;
  for (let i = 0; i < cases; i++) {
    const seed = seedOf(i);
    const rng = new Rng(seed);
    const message = randomMessage(rng, schema, { maxDepth: 1, invalid: false }) as Message & Record<string, any>;
    spoilMessage(rng, schema, message);
    const binary = [outcome(() => toBinary(schema, message)), outcome(() => codec.toBinary(message))];
    if (binary[0] !== binary[1]) return { failure: `seed ${seed}: toBinary protobuf-es ${binary[0]}, ours ${binary[1]}`, encoded, refused };
    const json = [outcome(() => toJsonString(schema, message)), outcome(() => codec.toJsonString(message))];
    if (json[0] !== json[1]) return { failure: `seed ${seed}: toJsonString protobuf-es ${json[0]}, ours ${json[1]}`, encoded, refused };
    for (const text of [binary[0], json[0]]) {
      if (text === "throws") refused++;
      else encoded++;
    }
  }
  return { failure: undefined, encoded, refused };
}
