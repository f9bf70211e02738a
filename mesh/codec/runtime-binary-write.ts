// Helpers the generated binary encoders call for sizes, validation and the longer writes. Values are
// checked exactly where protobuf-es's BinaryWriter asserts (wire/binary-encoding.js), and accepted in
// the same loose forms (numeric strings for 32-bit fields, numbers and strings for 64-bit fields), so
// that an encoder either writes the same bytes as protobuf-es or throws where it throws.

import { Buffer } from "node:buffer";
import { protoInt64 } from "@bufbuild/protobuf";

const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;

/** The error protobuf-es raises for a bad value: the field named, the writer's reason kept. */
function fail(name: string, reason: string): never {
  throw new Error(`cannot encode field ${name} to binary: ${reason}`);
}

/** Bytes of an unsigned 32-bit varint. */
export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Writes an unsigned 32-bit varint. */
export function writeVarint32(b: Uint8Array, p: number, v: number): number {
  while (v > 0x7f) {
    b[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[p++] = v;
  return p;
}

/** Writes a negative int32 sign-extended to ten bytes, as protobuf-es does. */
export function writeNegativeInt32(b: Uint8Array, p: number, v: number): number {
  for (let i = 0; i < 9; i++) {
    b[p++] = (v & 0x7f) | 0x80;
    v >>= 7;
  }
  b[p++] = 1;
  return p;
}

/** The slow path of a 32-bit integer: numeric strings are accepted like assertInt32 / assertUInt32. */
function integerValue(v: unknown, name: string, type: string, min: number, max: number): number {
  let n: number;
  if (typeof v == "string") n = Number(v);
  else if (typeof v == "number") n = v;
  else fail(name, `invalid ${type}: ${typeof v}`);
  if (!Number.isInteger(n) || n > max || n < min) fail(name, `invalid ${type}: ${n}`);
  return n;
}

/** An int32 value that failed the inline check. */
export function int32Value(v: unknown, name: string): number {
  return integerValue(v, name, "int32", INT32_MIN, INT32_MAX);
}

/** A uint32 value that failed the inline check. */
export function uint32Value(v: unknown, name: string): number {
  return integerValue(v, name, "uint32", 0, UINT32_MAX);
}

/** Checks a float value like assertFloat32 and returns it unchanged. */
export function float32Value(v: unknown, name: string): unknown {
  let n: number;
  if (typeof v == "number") n = v;
  else if (typeof v == "string") {
    n = Number(v);
    if (Number.isNaN(n) && v !== "NaN") fail(name, "invalid float32: " + v);
  } else fail(name, "invalid float32: " + typeof v);
  if (!Number.isFinite(Math.fround(n)) && Number.isFinite(n)) fail(name, "invalid float32: " + n);
  return v;
}

// Float bits are produced by a DataView, like protobuf-es, so that NaN payloads match. Used
// synchronously only.
const scratch = new DataView(new ArrayBuffer(8));

/** Writes a float32 (four bytes, little-endian). */
export function writeFloat(b: Uint8Array, p: number, v: unknown): number {
  scratch.setFloat32(0, v as number, true);
  b[p] = scratch.getUint8(0);
  b[p + 1] = scratch.getUint8(1);
  b[p + 2] = scratch.getUint8(2);
  b[p + 3] = scratch.getUint8(3);
  return p + 4;
}

/** Writes a float64 (eight bytes, little-endian); like protobuf-es, any value is coerced to a number. */
export function writeDouble(b: Uint8Array, p: number, v: unknown): number {
  scratch.setFloat64(0, v as number, true);
  for (let i = 0; i < 8; i++) b[p + i] = scratch.getUint8(i);
  return p + 8;
}

/** Writes a 32-bit value (already validated) as four little-endian bytes. */
export function writeFixed32(b: Uint8Array, p: number, v: number): number {
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
  b[p + 2] = (v >>> 16) & 0xff;
  b[p + 3] = (v >>> 24) & 0xff;
  return p + 4;
}

/** 64-bit encodings: signed varint, unsigned varint, zigzag varint. */
export const INT64 = 0;
export const UINT64 = 1;
export const SINT64 = 2;

/** Low and high words of a 64-bit value, validated like protoInt64.enc / uEnc. */
function words(v: unknown, kind: number, name: string): { lo: number; hi: number } {
  let tc: { lo: number; hi: number };
  try {
    tc = kind === UINT64 ? protoInt64.uEnc(v as bigint) : protoInt64.enc(v as bigint);
  } catch (e) {
    fail(name, e instanceof Error ? e.message : String(e));
  }
  if (kind === SINT64) {
    const sign = tc.hi >> 31;
    return { lo: (tc.lo << 1) ^ sign, hi: ((tc.hi << 1) | (tc.lo >>> 31)) ^ sign };
  }
  return tc;
}

/** Bytes of a 64-bit varint given as two words. */
function varint64Size(lo: number, hi: number): number {
  const bits = hi !== 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(lo);
  return bits === 0 ? 1 : Math.ceil(bits / 7);
}

/** True for a bigint small enough for the 32-bit paths (most 64-bit values in practice). */
function isSmall(v: unknown): v is bigint {
  return typeof v === "bigint" && v >= 0n && v <= 0x3fffffffn;
}

/** Bytes of a 64-bit varint value (without tag). */
export function int64Size(v: unknown, kind: number, name: string): number {
  if (isSmall(v)) return varintSize(kind === SINT64 ? Number(v) * 2 : Number(v));
  const w = words(v, kind, name);
  return varint64Size(w.lo, w.hi);
}

/** Writes a 64-bit varint value. */
export function writeInt64(b: Uint8Array, p: number, v: unknown, kind: number, name: string): number {
  if (isSmall(v)) return writeVarint32(b, p, kind === SINT64 ? Number(v) * 2 : Number(v));
  const w = words(v, kind, name);
  let lo = w.lo;
  let hi = w.hi;
  // Seven bits at a time from the 64-bit value lo + hi * 2^32, the same bytes as protobuf-es.
  while (hi !== 0 || lo >>> 0 > 0x7f) {
    b[p++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi = hi >>> 7;
  }
  b[p++] = lo;
  return p;
}

/** Writes a fixed64 or sfixed64 value (eight little-endian bytes). */
export function writeFixed64(b: Uint8Array, p: number, v: unknown, signed: boolean, name: string): number {
  const w = words(v, signed ? INT64 : UINT64, name);
  writeFixed32(b, p, w.lo);
  return writeFixed32(b, p + 4, w.hi);
}

/**
 * Strings shorter than this are measured and written by JavaScript loops. V8 keeps them flat; longer
 * ones may be ropes (built by concatenation), which per-character access handles slowly, so they go to
 * Buffer's native code, which flattens them once.
 */
const STRING_LOOP_LIMIT = 13;
/** Raw bytes up to this length are copied by a loop, longer ones by TypedArray.set. */
const BYTES_LOOP_MAX = 32;

/** UTF-8 bytes of a string; a lone surrogate counts 3 bytes (U+FFFD), as TextEncoder writes it. */
export function utf8Length(s: string): number {
  const len = s.length;
  if (len >= STRING_LOOP_LIMIT) return Buffer.byteLength(s, "utf8");
  let n = len;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < len && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two UTF-16 units, four bytes.
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

/** UTF-8 encoding of a short string by a loop (lone surrogates become U+FFFD, as in TextEncoder). */
function writeUtf8(b: Uint8Array, p: number, s: string): number {
  const len = s.length;
  for (let i = 0; i < len; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      b[p++] = c;
    } else if (c < 0x800) {
      b[p++] = 0xc0 | (c >> 6);
      b[p++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < len && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      b[p++] = 0xf0 | (c >> 18);
      b[p++] = 0x80 | ((c >> 12) & 0x3f);
      b[p++] = 0x80 | ((c >> 6) & 0x3f);
      b[p++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      b[p++] = 0xe0 | (c >> 12);
      b[p++] = 0x80 | ((c >> 6) & 0x3f);
      b[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p;
}

/** Writes a string of `len` UTF-8 bytes (measured by utf8Length) into the output Buffer. */
export function writeString(b: Buffer, p: number, s: string, len: number): number {
  if (s.length < STRING_LOOP_LIMIT) {
    if (len === s.length) {
      for (let i = 0; i < len; i++) b[p + i] = s.charCodeAt(i);
      return p + len;
    }
    return writeUtf8(b, p, s);
  }
  // All ASCII when the byte length equals the length: latin1 copies it byte for byte.
  b.write(s, p, len, len === s.length ? "latin1" : "utf8");
  return p + len;
}

/** Writes raw bytes. */
export function writeBytes(b: Uint8Array, p: number, v: Uint8Array): number {
  const len = v.length;
  if (len <= BYTES_LOOP_MAX) {
    for (let i = 0; i < len; i++) b[p + i] = v[i];
  } else {
    b.set(v, p);
  }
  return p + len;
}

/** Thrown for a bytes field holding something other than a Uint8Array. */
export function notBytes(v: unknown, name: string): never {
  fail(name, "invalid uint32: " + typeof v);
}

/** Unknown fields as protobuf-es keeps them in `$unknown`. */
type Unknown = readonly { no: number; wireType: number; data: Uint8Array }[];

/** Bytes of the unknown fields, written after all known fields. */
export function unknownSize(u: Unknown): number {
  let z = 0;
  for (let i = 0; i < u.length; i++) {
    const f = u[i];
    z += varintSize(((f.no << 3) | f.wireType) >>> 0) + f.data.length;
  }
  return z;
}

/** Writes the unknown fields: tag, then the raw bytes kept by the decoder. */
export function writeUnknown(b: Uint8Array, p: number, u: Unknown): number {
  for (let i = 0; i < u.length; i++) {
    const f = u[i];
    p = writeVarint32(b, p, ((f.no << 3) | f.wireType) >>> 0);
    b.set(f.data, p);
    p += f.data.length;
  }
  return p;
}

/** A map key of a 64-bit type: parsed like protobuf-es, left as the string when it does not parse. */
export function mapKey64(key: string, unsigned: boolean): unknown {
  try {
    return unsigned ? protoInt64.uParse(key) : protoInt64.parse(key);
  } catch {
    return key;
  }
}

/** A map key of a 32-bit type: parseInt like protobuf-es, left as the string when not finite. */
export function mapKey32(key: string): unknown {
  const n = Number.parseInt(key);
  return Number.isFinite(n) ? n : key;
}

/** The output buffer: exact size, from Node's pool for small messages, no zero-fill. */
export function allocate(size: number): Buffer {
  return Buffer.allocUnsafe(size);
}

/** Thrown if the write pass did not end where the size pass said (a bug, never bad input). */
export function sizeMismatch(expected: number, actual: number): never {
  throw new Error(`internal error: message size ${expected} but ${actual} bytes written`);
}
