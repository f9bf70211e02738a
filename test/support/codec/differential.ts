// The differential check of the tests: run protobuf-es and a compiled codec on the same input and
// describe the first difference. Both must throw or both succeed; successes must be byte-identical
// (binary), character-identical (JSON text) or structurally identical (decoded messages, checked with
// protobuf-es's equals() and with messageDiff, which also compares prototypes, key order, presence and
// unknown fields).

import { equals, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import type { DescMessage, Message } from "@bufbuild/protobuf";
import type { MessageCodec } from "../../../mesh/codec/index.ts";
import { messageDiff } from "./message-diff.ts";

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

function attempt<T>(fn: () => T): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

function describe<T>(o: Outcome<T>): string {
  return o.ok ? "succeeded" : `threw ${o.error instanceof Error ? o.error.message : String(o.error)}`;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Compares two decoded messages: structure, and equals() giving protobuf-es's own verdict (NaN aside). */
function compareDecoded(schema: DescMessage, ours: Message, pe: Message, peAgain: () => Message): string | undefined {
  const diff = messageDiff(ours, pe);
  if (diff !== undefined) return `decoded messages differ at ${diff}`;
  // equals() says NaN != NaN, so it must say of ours what it says of a second protobuf-es decoding.
  if (equals(schema, ours, pe) !== equals(schema, pe, peAgain())) return "equals() disagrees";
  return undefined;
}

/** True if a NaN sits anywhere in the value (a decoded message). */
function hasNaN(v: unknown): boolean {
  if (typeof v === "number") return Number.isNaN(v);
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return false;
  return Object.values(v).some(hasNaN);
}

/**
 * Re-encodings of a decoded message may differ in one way only: the payload bits of a signaling NaN
 * double, which V8 quiets when it stores the value in a list of unboxed doubles. Lists made by the
 * generated code stay unboxed; protobuf-es's come from one shared allocation site that V8 has usually
 * generalised to boxed values, which keep the bits. Both decode to NaN.
 */
function sameUpToNaNPayload(schema: DescMessage, message: Message, a: Uint8Array, b: Uint8Array): boolean {
  return hasNaN(message) && messageDiff(fromBinary(schema, new Uint8Array(a)), fromBinary(schema, new Uint8Array(b))) === undefined;
}

/** fromBinary on `bytes`, then toBinary of the result. */
export function checkBinaryDecode(schema: DescMessage, codec: MessageCodec<DescMessage>, bytes: Uint8Array): string | undefined {
  const pe = attempt(() => fromBinary(schema, bytes));
  const ours = attempt(() => codec.fromBinary(bytes));
  if (pe.ok !== ours.ok) return `fromBinary(${hex(bytes)}): protobuf-es ${describe(pe)}, ours ${describe(ours)}`;
  if (!pe.ok || !ours.ok) return undefined;
  const found = compareDecoded(schema, ours.value, pe.value, () => fromBinary(schema, bytes));
  if (found !== undefined) return `fromBinary(${hex(bytes)}): ${found}`;
  const again = attempt(() => toBinary(schema, pe.value));
  const oursAgain = attempt(() => codec.toBinary(ours.value));
  if (again.ok !== oursAgain.ok) return `toBinary(fromBinary(${hex(bytes)})): protobuf-es ${describe(again)}, ours ${describe(oursAgain)}`;
  if (again.ok && oursAgain.ok && !sameBytes(again.value, oursAgain.value) && !sameUpToNaNPayload(schema, pe.value, again.value, oursAgain.value)) {
    return `toBinary(fromBinary(${hex(bytes)})) differs: ${hex(oursAgain.value)}`;
  }
  return undefined;
}

/** fromJsonString on `text` (with the codec's read options), then toJsonString of the result. */
export function checkJsonDecode(schema: DescMessage, codec: MessageCodec<DescMessage>, text: string, ignoreUnknownFields = false): string | undefined {
  const pe = attempt(() => fromJsonString(schema, text, { ignoreUnknownFields }));
  const ours = attempt(() => codec.fromJsonString(text));
  if (pe.ok !== ours.ok) return `fromJsonString(${text}): protobuf-es ${describe(pe)}, ours ${describe(ours)}`;
  if (!pe.ok || !ours.ok) return undefined;
  const found = compareDecoded(schema, ours.value, pe.value, () => fromJsonString(schema, text, { ignoreUnknownFields }));
  if (found !== undefined) return `fromJsonString(${text}): ${found}`;
  const again = attempt(() => toJsonString(schema, pe.value));
  const oursAgain = attempt(() => codec.toJsonString(ours.value));
  if (again.ok !== oursAgain.ok) return `toJsonString(fromJsonString(${text})): protobuf-es ${describe(again)}, ours ${describe(oursAgain)}`;
  if (again.ok && oursAgain.ok && again.value !== oursAgain.value) return `toJsonString(fromJsonString(${text})) differs: ${oursAgain.value}`;
  return undefined;
}

/** What checkMessage found: a failure, and whether the message made a full round trip (not a shared refusal). */
export interface MessageCheck {
  readonly failure: string | undefined;
  /** Both encoders wrote binary and JSON, and both decoders read them back alike. */
  readonly roundTrip: boolean;
}

/** All four directions for one message: encode both ways, then decode what protobuf-es encoded. */
export function checkMessage(schema: DescMessage, codec: MessageCodec<DescMessage>, message: Message): MessageCheck {
  const failed = (failure: string): MessageCheck => ({ failure, roundTrip: false });
  const pe = attempt(() => toBinary(schema, message));
  const ours = attempt(() => codec.toBinary(message));
  if (pe.ok !== ours.ok) return failed(`toBinary: protobuf-es ${describe(pe)}, ours ${describe(ours)}`);
  if (pe.ok && ours.ok) {
    if (!sameBytes(pe.value, ours.value)) return failed(`toBinary differs:\n  protobuf-es ${hex(pe.value)}\n  ours        ${hex(ours.value)}`);
    const found = checkBinaryDecode(schema, codec, pe.value);
    if (found !== undefined) return failed(found);
  }
  const peJson = attempt(() => toJsonString(schema, message));
  const oursJson = attempt(() => codec.toJsonString(message));
  if (peJson.ok !== oursJson.ok) return failed(`toJsonString: protobuf-es ${describe(peJson)}, ours ${describe(oursJson)}`);
  if (peJson.ok && oursJson.ok) {
    if (peJson.value !== oursJson.value) return failed(`toJsonString differs:\n  protobuf-es ${peJson.value}\n  ours        ${oursJson.value}`);
    const found = checkJsonDecode(schema, codec, peJson.value);
    if (found !== undefined) return failed(found);
  }
  const roundTrip = pe.ok && peJson.ok && attempt(() => codec.fromBinary(pe.value)).ok && attempt(() => codec.fromJsonString(peJson.value)).ok;
  return { failure: undefined, roundTrip };
}
