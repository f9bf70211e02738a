// Helpers the generated JSON encoders call. Each returns exactly the JSON value protobuf-es's toJson
// puts in its place (to-json.js), and throws where toJson throws.

import { Buffer } from "node:buffer";
import { create, toJson } from "@bufbuild/protobuf";
import type { DescMessage, JsonValue } from "@bufbuild/protobuf";

/** The error toJson raises for a value of the wrong type. */
export function badJsonValue(field: string, value: unknown): never {
  throw new Error(`cannot encode ${field} to JSON: unexpected value of type ${typeof value}`);
}

/** A float or double: NaN and infinities as the strings of the proto3 JSON mapping. */
export function jsonFloat(v: unknown, field: string): number | string {
  if (typeof v != "number") badJsonValue(field, v);
  if (Number.isFinite(v)) return v;
  if (Number.isNaN(v)) return "NaN";
  return v > 0 ? "Infinity" : "-Infinity";
}

/** A 64-bit integer: a decimal string. */
export function jsonInt64(v: unknown, field: string): string {
  if (typeof v == "bigint" || typeof v == "string" || (typeof v == "number" && Number.isInteger(v))) return v.toString();
  badJsonValue(field, v);
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** Base64 of every 12-bit value: two characters per lookup. */
const PAIRS = Array.from({ length: 4096 }, (_, i) => ALPHABET[i >> 6] + ALPHABET[i & 63]);
/** Longest byte string encoded by the JavaScript loop; longer ones by Node's native encoder. */
const BASE64_LOOP_MAX = 48;

/** Bytes: standard base64 with padding, the encoding protobuf-es writes. */
export function jsonBytes(v: unknown, field: string): string {
  if (!(v instanceof Uint8Array)) badJsonValue(field, v);
  const len = v.length;
  if (len > BASE64_LOOP_MAX) {
    const buf = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return buf.toString("base64");
  }
  let s = "";
  const whole = len - (len % 3);
  let i = 0;
  for (; i < whole; i += 3) {
    const bits = (v[i] << 16) | (v[i + 1] << 8) | v[i + 2];
    s += PAIRS[bits >> 12] + PAIRS[bits & 4095];
  }
  if (len - whole === 1) {
    s += PAIRS[v[i] << 4] + "==";
  } else if (len - whole === 2) {
    const bits = (v[i] << 16) | (v[i + 1] << 8);
    s += PAIRS[bits >> 12] + ALPHABET[(bits >> 6) & 63] + "=";
  }
  return s;
}

/** An enum value: its JSON name from `names` (indexed by number), or the number if unknown. */
export function jsonEnum(v: unknown, names: Record<number, string>, field: string): number | string {
  if (typeof v != "number") throw new Error(`cannot encode ${field} to JSON: expected number, got ${typeof v}`);
  const name = names[v];
  return name !== undefined ? name : v;
}

/** A well-known type with a custom JSON form (Timestamp, Duration, FieldMask, wrappers), by protobuf-es. */
export function jsonWkt(schema: DescMessage, v: any): JsonValue {
  return toJson(schema, v === undefined ? create(schema) : v);
}

/** Thrown for a proto2 required field that is not set. */
export function requiredNotSet(field: string, format: "binary" | "JSON"): never {
  throw new Error(`cannot encode ${field} to ${format}: required field not set`);
}

/** Thrown when a message of another type sits where this type belongs (protobuf-es's ForeignFieldError). */
export function foreignMessage(field: string, typeName: unknown): never {
  const e = new Error(`cannot use ${field} with message ${String(typeName)}`);
  e.name = "ForeignFieldError";
  throw e;
}
