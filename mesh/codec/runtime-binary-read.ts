// Helpers the generated binary decoders call for the rare or long paths (multi-byte varints, 64-bit
// integers, floats, strings, skipping unknown fields). Every helper reproduces the exact acceptance
// rules of protobuf-es's BinaryReader (@bufbuild/protobuf 2.17, wire/binary-encoding.js and
// wire/varint.js): what it reads, where it stops, and which inputs throw. The generated code keeps
// the read position in a local; helpers that move it store the new position in `st.p`.

/**
 * Scratch registers shared by one compiled module and these helpers: the position after a read (a
 * second return value) and the two words of the last 64-bit varint. Decoding is synchronous, so one
 * set per module is never used by two reads at once.
 */
export interface ReadState {
  p: number;
  lo: number;
  hi: number;
}

/** Creates the scratch registers of one compiled module. */
export function createReadState(): ReadState {
  return { p: 0, lo: 0, hi: 0 };
}

/** Thrown where protobuf-es's `assertBounds()` or DataView bounds check would throw. */
export function eof(): never {
  throw new RangeError("premature EOF");
}

/** Thrown for a nesting depth beyond protobuf-es's default recursion limit. */
export function depthExceeded(typeName: string): never {
  throw new Error(`cannot decode message ${typeName} from binary: maximum recursion depth of 100 reached`);
}

/** Thrown for a tag with field number 0 or wire type 6 or 7. */
export function illegalTag(tag: number): never {
  throw new Error("illegal tag: field no " + (tag >>> 3) + " wire type " + (tag & 7));
}

/** An unsigned 32-bit varint starting at `p`, like `BinaryReader.uint32()` (any length). */
export function readVarint32(b: Uint8Array, p: number, st: ReadState): number {
  const n = b.length;
  let r = 0;
  let x = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    x = b[p++];
    r |= (x & 0x7f) << shift;
    if ((x & 0x80) === 0) {
      if (p > n) eof();
      st.p = p;
      return r;
    }
  }
  // Only the low 4 bits of the fifth byte fit; up to five more bytes are skipped.
  x = b[p++];
  r |= (x & 0x0f) << 28;
  for (let i = 5; (x & 0x80) !== 0 && i < 10; i++) x = b[p++];
  if ((x & 0x80) !== 0) throw new Error("invalid varint");
  if (p > n) eof();
  st.p = p;
  return r >>> 0;
}

/** A tag, like `BinaryReader.tag()`: rejects tags that overflow uint32, field 0, wire types 6 and 7. */
export function readTag(b: Uint8Array, p: number, st: ReadState): number {
  const tag = readVarint32(b, p, st);
  const read = st.p - p;
  if (read > 5 || (read === 5 && b[st.p - 1] > 0x0f)) throw new Error("illegal tag: varint overflows uint32");
  if (tag >>> 3 === 0 || (tag & 7) > 5) illegalTag(tag);
  return tag;
}

/** Ends a 64-bit varint read at `p`: bounds check, then the position and both words into `st`. */
function endVarint64(b: Uint8Array, p: number, st: ReadState, lo: number, hi: number): void {
  if (p > b.length) eof();
  st.p = p;
  st.lo = lo;
  st.hi = hi;
}

/** A 64-bit varint into `st.lo` and `st.hi`, like protobuf-es's `varint64read()`. */
function readVarint64(b: Uint8Array, p: number, st: ReadState): void {
  let lo = 0;
  let hi = 0;
  let x: number;
  for (let shift = 0; shift < 28; shift += 7) {
    x = b[p++];
    lo |= (x & 0x7f) << shift;
    if ((x & 0x80) === 0) return endVarint64(b, p, st, lo, hi);
  }
  x = b[p++];
  lo |= (x & 0x0f) << 28;
  hi = (x & 0x70) >> 4;
  if ((x & 0x80) === 0) return endVarint64(b, p, st, lo, hi);
  for (let shift = 3; shift <= 31; shift += 7) {
    x = b[p++];
    hi |= (x & 0x7f) << shift;
    if ((x & 0x80) === 0) return endVarint64(b, p, st, lo, hi);
  }
  throw new Error("invalid varint");
}

// Bytes to float and bigint conversions go through a DataView, like protobuf-es, so that the bits
// (NaN payloads included) come out the same. Used synchronously only.
const scratch = new DataView(new ArrayBuffer(8));

/** The signed 64-bit value of two 32-bit words. */
export function int64FromWords(lo: number, hi: number): bigint {
  if (hi === 0 && lo >= 0) return BigInt(lo);
  if (hi === -1 && lo < 0) return BigInt(lo);
  scratch.setInt32(0, lo, true);
  scratch.setInt32(4, hi, true);
  return scratch.getBigInt64(0, true);
}

/** The unsigned 64-bit value of two 32-bit words. */
export function uint64FromWords(lo: number, hi: number): bigint {
  if (hi === 0) return BigInt(lo >>> 0);
  scratch.setInt32(0, lo, true);
  scratch.setInt32(4, hi, true);
  return scratch.getBigUint64(0, true);
}

/** An `int64` varint as a bigint. */
export function readInt64(b: Uint8Array, p: number, st: ReadState): bigint {
  readVarint64(b, p, st);
  return int64FromWords(st.lo, st.hi);
}

/** A `uint64` varint as a bigint. */
export function readUint64(b: Uint8Array, p: number, st: ReadState): bigint {
  readVarint64(b, p, st);
  return uint64FromWords(st.lo, st.hi);
}

/** A zigzag `sint64` varint as a bigint. */
export function readSint64(b: Uint8Array, p: number, st: ReadState): bigint {
  readVarint64(b, p, st);
  const s = -(st.lo & 1);
  const lo = ((st.lo >>> 1) | ((st.hi & 1) << 31)) ^ s;
  const hi = (st.hi >>> 1) ^ s;
  return int64FromWords(lo, hi);
}

/** A `bool` varint: any non-zero varint (up to 10 bytes) is true. */
export function readBool(b: Uint8Array, p: number, st: ReadState): boolean {
  readVarint64(b, p, st);
  return st.lo !== 0 || st.hi !== 0;
}

/** Eight little-endian bytes at `p` (bounds already checked) as a bigint. */
export function readFixed64(b: Uint8Array, p: number, signed: boolean): bigint {
  const lo = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
  const hi = b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24);
  return signed ? int64FromWords(lo, hi) : uint64FromWords(lo, hi);
}

/** A little-endian float32 at `p` (bounds already checked), read by a DataView like protobuf-es. */
export function readFloat(b: Uint8Array, p: number): number {
  scratch.setUint8(0, b[p]);
  scratch.setUint8(1, b[p + 1]);
  scratch.setUint8(2, b[p + 2]);
  scratch.setUint8(3, b[p + 3]);
  return scratch.getFloat32(0, true);
}

/** A little-endian float64 at `p` (bounds already checked), read by a DataView like protobuf-es. */
export function readDouble(b: Uint8Array, p: number): number {
  for (let i = 0; i < 8; i++) scratch.setUint8(i, b[p + i]);
  return scratch.getFloat64(0, true);
}

// A leading U+FEFF in a protobuf string is text, not a byte-order mark (as in protobuf-es).
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Strings up to this length are built by concatenation: V8 keeps strings under 13 characters flat, so
 * concatenation is cheapest there; longer ones would become ropes that are slow to read later.
 */
const CONCAT_MAX = 12;
/** Strings up to this length are built from an array of codes (as protobuf-es); longer ones natively. */
const CODES_MAX = 32;

/**
 * The string in `b[start, end)`. With `validate`, invalid UTF-8 throws (proto3 and editions'
 * utf8_validation VERIFY); otherwise it is replaced by U+FFFD, exactly as protobuf-es's decoder does.
 */
export function readString(b: Uint8Array, start: number, end: number, validate: boolean): string {
  const len = end - start;
  if (len <= CONCAT_MAX) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = b[i];
      if (c > 0x7f) return (validate ? strict : lenient).decode(b.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  if (len <= CODES_MAX) {
    const codes = new Array<number>(len);
    for (let i = 0; i < len; i++) {
      const c = b[start + i];
      if (c > 0x7f) return (validate ? strict : lenient).decode(b.subarray(start, end));
      codes[i] = c;
    }
    return String.fromCharCode.apply(String, codes);
  }
  return (validate ? strict : lenient).decode(b.subarray(start, end));
}

/** The varint bytes protobuf-es stores for an unknown value of a closed enum (`varint32write`). */
export function encodeEnumVarint(value: number): Uint8Array {
  const bytes: number[] = [];
  if (value >>> 0 < 0x80) {
    bytes.push(value);
  } else if (value >= 0) {
    while (value > 0x7f) {
      bytes.push((value & 0x7f) | 0x80);
      value = value >>> 7;
    }
    bytes.push(value);
  } else {
    for (let i = 0; i < 9; i++) {
      bytes.push((value & 127) | 128);
      value = value >> 7;
    }
    bytes.push(1);
  }
  return new Uint8Array(bytes);
}

/**
 * Skips one value of an unknown field and returns the position after it, like
 * `BinaryReader.skip()`: varints of any length, groups checked for a matching end tag, nested groups
 * limited by `recursionLimit`.
 */
export function skipField(b: Uint8Array, p: number, wireType: number, fieldNo: number, recursionLimit: number, st: ReadState): number {
  switch (wireType) {
    case 0:
      while (b[p++] & 0x80) {
        // continuation bit set: keep going
      }
      break;
    case 1:
      p += 8;
      break;
    case 5:
      p += 4;
      break;
    case 2: {
      const len = readVarint32(b, p, st);
      p = st.p + len;
      break;
    }
    case 3: {
      if (recursionLimit <= 0) throw new Error("maximum recursion depth reached");
      for (;;) {
        const tag = readTag(b, p, st);
        p = st.p;
        if ((tag & 7) === 4) {
          if (tag >>> 3 !== fieldNo) throw new Error("invalid end group tag");
          break;
        }
        p = skipField(b, p, tag & 7, tag >>> 3, recursionLimit - 1, st);
      }
      break;
    }
    default:
      throw new Error("cant skip wire type " + wireType);
  }
  if (p > b.length) eof();
  return p;
}

/** Sets a property as an own data property, even for the key "__proto__" (protobuf-es's setOwn). */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}
