// Helpers the generated JSON decoders call. Each converter fuses the three steps of protobuf-es's
// from-json.js (parse the JSON form, check it like the reflect API, convert to the local form) and
// accepts and rejects exactly the same values; the generated code inlines the common fast paths.

import { Buffer } from "node:buffer";
import { fromJson, protoInt64 } from "@bufbuild/protobuf";
import type { DescMessage, JsonValue } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";

const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;

// ES2024's String.prototype.isWellFormed (Node >= 20); the project's TypeScript lib is ES2023.
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Per-call decoding state: message depth (recursion limit), object keys seen, lenient mode. */
export interface JsonReadContext {
  d: number;
  k: number;
  readonly ignoreUnknownFields: boolean;
}

/** The error protobuf-es raises for an invalid field value (a FieldError, rewrapped). */
export function fieldError(field: string, reason: string): never {
  throw new Error(`cannot decode ${field} from JSON: ${reason}`);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `Array(${v.length})`;
  if (typeof v == "string") return v.length > 30 ? "string" : `"${v.split('"').join('\\"')}"`;
  return typeof v == "object" ? "object" : String(v);
}

/** Thrown when a message's JSON is not an object. */
export function notAnObject(typeName: string, v: unknown): never {
  throw new Error(`cannot decode message ${typeName} from JSON: ${describe(v)}`);
}

/** Thrown for a key that names no field (ignoreUnknownFields false). */
export function unknownKey(typeName: string, key: string): never {
  throw new Error(`cannot decode message ${typeName} from JSON: key "${key}" is unknown`);
}

/** Thrown beyond protobuf-es's default recursion limit. */
export function jsonDepthExceeded(typeName: string): never {
  throw new Error(`cannot decode message ${typeName} from JSON: maximum recursion depth of 100 reached`);
}

/** A string as int32FromJson parses it: trimmed-equal, non-empty, numeric; otherwise unchanged. */
function parseIntString(json: string): unknown {
  if (json === "" || json.trim().length !== json.length) return json;
  const num = Number(json);
  return Number.isNaN(num) ? json : num;
}

/** An int32, sint32 or sfixed32 value. */
export function readInt32(json: unknown, field: string): number {
  const v = typeof json == "string" ? parseIntString(json) : json;
  if (typeof v != "number" || !Number.isInteger(v)) fieldError(field, `expected number (int32), got ${describe(json)}`);
  if (v > INT32_MAX || v < INT32_MIN) fieldError(field, `expected number (int32): ${v.toFixed()} out of range`);
  return v;
}

/** A uint32 or fixed32 value. */
export function readUint32(json: unknown, field: string): number {
  const v = typeof json == "string" ? parseIntString(json) : json;
  if (typeof v != "number" || !Number.isInteger(v)) fieldError(field, `expected number (uint32), got ${describe(json)}`);
  if (v > UINT32_MAX || v < 0) fieldError(field, `expected number (uint32): ${v.toFixed()} out of range`);
  return v;
}

/** The JSON forms of a float or double: numbers, numeric strings, "NaN", "Infinity", "-Infinity". */
function parseFloatJson(json: unknown, field: string): unknown {
  if (json === "NaN") return NaN;
  if (json === "Infinity") return Number.POSITIVE_INFINITY;
  if (json === "-Infinity") return Number.NEGATIVE_INFINITY;
  if (typeof json == "number") {
    if (Number.isNaN(json)) fieldError(field, "unexpected NaN number");
    if (!Number.isFinite(json)) fieldError(field, "unexpected infinite number");
    return json;
  }
  if (typeof json == "string") {
    if (json === "" || json.trim().length !== json.length) return json;
    const float = Number(json);
    return Number.isFinite(float) ? float : json;
  }
  return json;
}

/** A double value. */
export function readDouble(json: unknown, field: string): number {
  const v = parseFloatJson(json, field);
  if (typeof v != "number") fieldError(field, `expected number (float64), got ${describe(json)}`);
  return v;
}

/** A float value: a finite double that rounds to infinity as float32 is out of range. */
export function readFloat(json: unknown, field: string): number {
  const v = parseFloatJson(json, field);
  if (typeof v != "number") fieldError(field, `expected number (float32), got ${describe(json)}`);
  if (!Number.isFinite(Math.fround(v)) && Number.isFinite(v)) fieldError(field, `expected number (float32): ${v.toFixed()} out of range`);
  return v;
}

/** A bool value: only JSON true and false. */
export function readBool(json: unknown, field: string): boolean {
  if (typeof json != "boolean") fieldError(field, `expected boolean, got ${describe(json)}`);
  return json;
}

/** A string value; lone surrogates (from \ud800-style escapes) are invalid UTF-8. */
export function readString(json: unknown, field: string): string {
  if (typeof json != "string") fieldError(field, `expected string, got ${describe(json)}`);
  if (!isWellFormed(json)) fieldError(field, "expected string: invalid UTF8");
  return json;
}

// Standard base64 alphabet to 6-bit values; -1 for anything else (URL-safe letters, padding,
// whitespace: those inputs go to protobuf-es's decoder).
const BASE64 = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = i;

/** Longest canonical base64 decoded by the JavaScript loop; longer ones by Node's native decoder. */
const BASE64_LOOP_MAX = 64;
const canonicalBase64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Canonical standard base64 (padded, no whitespace: what every encoder writes) decoded to bytes, or
 * undefined for any other form. For canonical input all decoders agree, protobuf-es's included.
 */
function decodeCanonicalBase64(s: string): Uint8Array | undefined {
  const len = s.length;
  if ((len & 3) !== 0) return undefined;
  const pad = s.charCodeAt(len - 1) === 61 ? (s.charCodeAt(len - 2) === 61 ? 2 : 1) : 0;
  if (len > BASE64_LOOP_MAX) {
    if (!canonicalBase64.test(s)) return undefined;
    const buf = Buffer.from(s, "base64");
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  const out = new Uint8Array((len >> 2) * 3 - pad);
  const full = len - (pad > 0 ? 4 : 0);
  let o = 0;
  for (let i = 0; i < full; i += 4) {
    const a = BASE64[s.charCodeAt(i)] ?? -1;
    const b = BASE64[s.charCodeAt(i + 1)] ?? -1;
    const c = BASE64[s.charCodeAt(i + 2)] ?? -1;
    const d = BASE64[s.charCodeAt(i + 3)] ?? -1;
    if ((a | b | c | d) < 0) return undefined;
    out[o++] = (a << 2) | (b >> 4);
    out[o++] = ((b & 15) << 4) | (c >> 2);
    out[o++] = ((c & 3) << 6) | d;
  }
  if (pad > 0) {
    const a = BASE64[s.charCodeAt(full)] ?? -1;
    const b = BASE64[s.charCodeAt(full + 1)] ?? -1;
    const c = pad === 1 ? (BASE64[s.charCodeAt(full + 2)] ?? -1) : 0;
    if ((a | b | c) < 0) return undefined;
    out[o++] = (a << 2) | (b >> 4);
    if (pad === 1) out[o++] = ((b & 15) << 4) | (c >> 2);
  }
  return out;
}

/** A bytes value: standard or URL-safe base64, padded or not; odd forms go to protobuf-es's decoder. */
export function readBytes(json: unknown, field: string): Uint8Array {
  if (typeof json != "string") fieldError(field, `expected Uint8Array, got ${describe(json)}`);
  if (json === "") return new Uint8Array(0);
  const bytes = decodeCanonicalBase64(json);
  if (bytes !== undefined) return bytes;
  try {
    return base64Decode(json);
  } catch (e) {
    fieldError(field, e instanceof Error ? e.message : String(e));
  }
}

/** A 64-bit value (number or decimal string in JSON) as a bigint, or as a string with jstype=JS_STRING. */
export function readInt64(json: unknown, field: string, unsigned: boolean, asString: boolean): bigint | string {
  if (!(typeof json == "number" || (typeof json == "string" && json.length > 0))) {
    fieldError(field, `expected bigint (${unsigned ? "uint64" : "int64"}), got ${describe(json)}`);
  }
  let value: bigint;
  try {
    value = unsigned ? protoInt64.uParse(json) : protoInt64.parse(json);
  } catch {
    fieldError(field, `expected bigint (${unsigned ? "uint64" : "int64"}): ${json} out of range`);
  }
  return asString ? String(json) : value;
}

/** Returned by readEnum for an unknown name that ignoreUnknownFields drops. */
export const IGNORED = Symbol("ignored unknown enum value");

/** What a JSON enum reader needs: names (JSON and proto) to numbers, the values a closed enum allows. */
export interface EnumInfo {
  readonly typeName: string;
  readonly zero: number;
  readonly numbers: ReadonlyMap<string, number>;
  /** Undefined for an open enum (any int32 is allowed). */
  readonly closedValues: ReadonlySet<number> | undefined;
}

/** An enum value: null is the first value, integers as is, names looked up; then checked. */
export function readEnum(json: unknown, info: EnumInfo, field: string, ignoreUnknown: boolean): number | typeof IGNORED {
  let value: number | undefined;
  if (json === null) value = info.zero;
  else if (typeof json == "number") {
    if (Number.isInteger(json)) value = json;
  } else if (typeof json == "string") {
    value = info.numbers.get(json);
    if (value === undefined && ignoreUnknown) return IGNORED;
  }
  if (value === undefined) throw new Error(`cannot decode enum ${info.typeName} from JSON: ${describe(json)}`);
  if (info.closedValues !== undefined ? !info.closedValues.has(value) : value > INT32_MAX || value < INT32_MIN) {
    fieldError(field, `expected enum ${info.typeName}, got ${value}`);
  }
  return value;
}

/** A map key of a 64-bit type, canonicalised like protobuf-es ("007" and "7" are one key). */
export function mapKey64(key: string): string {
  return /^-?0+$/.test(key) ? "0" : key.replace(/^(-?)0+(?=\d)/, "$1");
}

/** A map key of a bool type. */
export function mapKeyBool(key: string): unknown {
  return key === "true" ? true : key === "false" ? false : key;
}

/** A map key of a 32-bit type. */
export function mapKey32(key: string): unknown {
  return parseIntString(key);
}

/** The check protobuf-es applies to a parsed map key; throws if it fails. */
export function checkMapKey(key: unknown, kind: "bool" | "int32" | "uint32" | "int64" | "uint64" | "string", field: string): void {
  let ok: boolean;
  switch (kind) {
    case "bool":
      ok = typeof key == "boolean";
      break;
    case "int32":
      ok = typeof key == "number" && Number.isInteger(key) && key <= INT32_MAX && key >= INT32_MIN;
      break;
    case "uint32":
      ok = typeof key == "number" && Number.isInteger(key) && key <= UINT32_MAX && key >= 0;
      break;
    case "int64":
    case "uint64":
      try {
        ok = typeof key == "string" && key.length > 0 && (kind === "uint64" ? protoInt64.uParse(key) : protoInt64.parse(key)) !== undefined;
      } catch {
        ok = false;
      }
      break;
    default:
      ok = typeof key == "string" && isWellFormed(key);
  }
  if (!ok) fieldError(field, `invalid map key: ${describe(key)}`);
}

/** Thrown for a second key naming an already set field (by proto name and JSON name, say). */
export function setTwice(field: string): never {
  fieldError(field, "set multiple times");
}

/** Thrown when a second field of one oneof group is set. */
export function oneofTwice(oneof: string, first: string, second: string): never {
  throw new Error(`cannot decode ${oneof} from JSON: oneof set multiple times by ${first} and ${second}`);
}

/** Thrown for a value of the wrong JSON type for a list, map, or list item. */
export function badShape(field: string, reason: string): never {
  fieldError(field, reason);
}

/** Keys of every object in a JSON value: ignored subtrees must still count for the duplicate check. */
export function countKeys(v: unknown): number {
  if (v === null || typeof v != "object") return 0;
  let n = 0;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) n += countKeys(v[i]);
    return n;
  }
  const keys = Object.keys(v);
  n = keys.length;
  for (let i = 0; i < keys.length; i++) n += countKeys((v as Record<string, unknown>)[keys[i]]);
  return n;
}

/** A well-known type with a custom JSON form, read by protobuf-es itself (a leaf: no nested messages). */
export function readWkt(schema: DescMessage, json: unknown): unknown {
  return fromJson(schema, json as JsonValue);
}
