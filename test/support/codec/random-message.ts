// Random messages for the differential tests: random presence, list and map sizes, oneof cases,
// unicode strings (non-BMP, escapes, BOM, sometimes lone surrogates), 32- and 64-bit extremes, NaN,
// -0 and infinities, empty and large bytes, unknown enum values, unknown fields. Messages are built
// the way protobuf-es builds them (create(), then properties set), so they are valid protobuf-es
// messages unless `invalid` asks for the odd invalid value too.

import { create, ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage, Message } from "@bufbuild/protobuf";
import type { Rng } from "./rng.ts";

/** FeatureSet.FieldPresence.LEGACY_REQUIRED: a proto2 `required` field. */
const LEGACY_REQUIRED = 3;

/** Knobs of the generator. */
export interface RandomOptions {
  /** Message nesting below which message fields are still filled. */
  readonly maxDepth: number;
  /** Also produce values protobuf-es rejects or mangles (lone surrogates, out-of-range timestamps). */
  readonly invalid: boolean;
}

const STRING_PIECES = ["a", "Z", "0", " ", '"', "\\", "/", "\n", "\t", "\u0000", "\u001f", "\u007f", "é", "ß", "中", "\u2028", "\ufeff", "😀", "𝄞", "\uffff"];
const INT32_SPECIAL = [0, 1, -1, 127, 128, 255, 16383, 16384, 0x7fffffff, -0x80000000, -129];
const UINT32_SPECIAL = [0, 1, 127, 128, 16384, 0x7fffffff, 0x80000000, 0xffffffff];
const INT64_SPECIAL = [0n, 1n, -1n, 127n, 128n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)];
const UINT64_SPECIAL = [0n, 1n, 127n, 128n, 0xffffffffn, 0x100000000n, 2n ** 63n, 2n ** 64n - 1n];
const DOUBLE_SPECIAL = [0, -0, NaN, Infinity, -Infinity, 1.5, -2.25, Number.MAX_VALUE, Number.MIN_VALUE, 1e21, 1e-7, 0.1];
const FLOAT_SPECIAL = [0, -0, NaN, Infinity, -Infinity, 1.5, 3.4028234663852886e38, 1.401298464324817e-45, Math.fround(0.1)];

/** A random string: mostly short, sometimes around the fast-path limits or long. */
export function randomString(rng: Rng, invalid: boolean): string {
  const roll = rng.next();
  const len = roll < 0.15 ? 0 : roll < 0.8 ? rng.int(1, 12) : roll < 0.93 ? rng.int(20, 40) : rng.int(100, 400);
  let s = "";
  const ascii = rng.bool(0.5);
  for (let i = 0; i < len; i++) {
    if (ascii) s += String.fromCharCode(rng.int(0x20, 0x7e));
    else s += rng.pick(STRING_PIECES);
  }
  if (invalid && rng.bool(0.05)) s += rng.pick(["\ud800", "\udfff", "\ud83d"]);
  return s;
}

function randomBytes(rng: Rng): Uint8Array {
  const roll = rng.next();
  const len = roll < 0.2 ? 0 : roll < 0.85 ? rng.int(1, 40) : rng.int(100, 3000);
  const bytes = new Uint8Array(len);
  for (let i = 0; i < len; i++) bytes[i] = rng.int(0, 255);
  return bytes;
}

function signed64(rng: Rng): bigint {
  return rng.bool(0.5) ? rng.pick(INT64_SPECIAL) : BigInt.asIntN(64, rng.bool(0.5) ? rng.u64() : BigInt(rng.int(-1000, 100000)));
}

function unsigned64(rng: Rng): bigint {
  return rng.bool(0.5) ? rng.pick(UINT64_SPECIAL) : rng.bool(0.5) ? rng.u64() : BigInt(rng.int(0, 100000));
}

/** A random value of a scalar type, in protobuf-es's local form. */
export function randomScalar(rng: Rng, type: ScalarType, longAsString: boolean, invalid: boolean): unknown {
  const long = (v: bigint) => (longAsString ? v.toString() : v);
  switch (type) {
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return rng.bool(0.5) ? rng.pick(INT32_SPECIAL) : rng.u32() | 0;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return rng.bool(0.5) ? rng.pick(UINT32_SPECIAL) : rng.u32();
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return long(signed64(rng));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return long(unsigned64(rng));
    case ScalarType.DOUBLE:
      return rng.bool(0.5) ? rng.pick(DOUBLE_SPECIAL) : (rng.next() - 0.5) * 10 ** rng.int(-10, 30);
    case ScalarType.FLOAT:
      return rng.bool(0.5) ? rng.pick(FLOAT_SPECIAL) : Math.fround((rng.next() - 0.5) * 10 ** rng.int(-5, 30));
    case ScalarType.BOOL:
      return rng.bool();
    case ScalarType.STRING:
      return randomString(rng, invalid);
    case ScalarType.BYTES:
      return randomBytes(rng);
  }
}

/** A map key of a scalar type, as the string protobuf-es uses as the property name. */
function randomMapKey(rng: Rng, type: ScalarType, invalid: boolean): string {
  if (type === ScalarType.BOOL) return String(rng.bool());
  if (type === ScalarType.STRING && rng.bool(0.05)) return rng.pick(["__proto__", "constructor", "0", "007", "toString"]);
  return String(randomScalar(rng, type, false, invalid));
}

function randomEnum(rng: Rng, field: DescField, invalid: boolean): number {
  const values = field.enum!.values;
  // Now and then a number the enum does not declare: kept by open enums, unknown fields for closed ones
  // (which JSON cannot carry), so a closed enum gets one only when invalid values are asked for.
  const undeclaredAllowed = invalid || field.enum!.open;
  return undeclaredAllowed && rng.bool(0.1) ? rng.pick([99, -1, 1000000]) : rng.pick(values).number;
}

/** Values of well-known types that protobuf-es's JSON form accepts (mostly). */
function randomWkt(rng: Rng, desc: DescMessage, invalid: boolean): Message | undefined {
  const m = create(desc) as any;
  switch (desc.typeName) {
    case "google.protobuf.Timestamp":
      m.seconds = BigInt(rng.int(-62135596800, 253402300799));
      m.nanos = rng.pick([0, 1000000, 1000, 1, rng.int(0, 999999999)]);
      if (invalid && rng.bool(0.05)) m.nanos = -1;
      return m;
    case "google.protobuf.Duration": {
      const seconds = rng.int(-315576000000, 315576000000);
      m.seconds = BigInt(seconds);
      const nanos = rng.pick([0, 500000000, 1000, rng.int(0, 999999999)]);
      m.nanos = seconds < 0 ? -nanos : nanos;
      return m;
    }
    case "google.protobuf.FieldMask":
      m.paths = Array.from({ length: rng.int(0, 3) }, () => rng.pick(["a", "foo_bar", "x.y_z", "abc1"]));
      return m;
    default:
      return undefined;
  }
}

function randomValue(rng: Rng, field: DescField, depth: number, opts: RandomOptions): unknown {
  if (field.message) return randomMessage(rng, field.message, opts, depth + 1);
  if (field.enum) return randomEnum(rng, field, opts.invalid);
  const longAsString = field.fieldKind !== "map" && "longAsString" in field && field.longAsString === true;
  return randomScalar(rng, field.scalar!, longAsString, opts.invalid);
}

/** A random message of `schema`. */
export function randomMessage(rng: Rng, schema: DescMessage, opts: RandomOptions, depth = 0): Message {
  const wkt = randomWkt(rng, schema, opts.invalid);
  if (wkt !== undefined) return wkt;
  const m = create(schema) as any;
  const fill = depth < opts.maxDepth ? 0.6 : 0.15;
  for (const member of schema.members) {
    if (member.kind === "oneof") {
      const field = rng.pick(member.fields);
      if (rng.bool(0.6) && (field.fieldKind !== "message" || depth < opts.maxDepth)) {
        m[member.localName] = { case: field.localName, value: randomValue(rng, field, depth, opts) };
      }
      continue;
    }
    const field = member;
    switch (field.fieldKind) {
      case "message":
        if (depth < opts.maxDepth && rng.bool(fill)) m[field.localName] = randomValue(rng, field, depth, opts);
        break;
      case "list": {
        const count = rng.bool(fill) && (field.listKind !== "message" || depth < opts.maxDepth) ? rng.int(1, 4) : 0;
        for (let i = 0; i < count; i++) m[field.localName].push(randomValue(rng, field, depth, opts));
        break;
      }
      case "map": {
        const count = rng.bool(fill) && (field.mapKind !== "message" || depth < opts.maxDepth) ? rng.int(1, 3) : 0;
        for (let i = 0; i < count; i++) {
          const key = randomMapKey(rng, field.mapKey, opts.invalid);
          Object.defineProperty(m[field.localName], key, { value: randomValue(rng, field, depth, opts), writable: true, enumerable: true, configurable: true });
        }
        break;
      }
      default:
        // A proto2 required field left unset cannot be encoded: set it unless invalid messages are asked for.
        if (rng.bool(fill) || (!opts.invalid && field.presence === LEGACY_REQUIRED)) m[field.localName] = randomValue(rng, field, depth, opts);
    }
  }
  if (rng.bool(0.1)) m.$unknown = randomUnknownFields(rng, schema);
  return m;
}

/** Unknown fields with numbers the schema does not use and well-formed data for their wire type. */
function randomUnknownFields(rng: Rng, schema: DescMessage): { no: number; wireType: number; data: Uint8Array }[] {
  const used = new Set(schema.fields.map((f) => f.number));
  const result = [];
  for (let i = rng.int(1, 3); i > 0; i--) {
    let no = rng.pick([rng.int(1, 50), rng.int(1000, 20000), 536870911]);
    while (used.has(no)) no++;
    const wireType = rng.pick([0, 1, 2, 5, 3]);
    result.push({ no, wireType, data: unknownData(rng, wireType, no) });
  }
  return result;
}

function varintBytes(v: bigint): number[] {
  const out: number[] = [];
  v = BigInt.asUintN(64, v);
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function unknownData(rng: Rng, wireType: number, no: number): Uint8Array {
  switch (wireType) {
    case 0:
      return new Uint8Array(varintBytes(rng.bool(0.5) ? BigInt(rng.int(0, 300)) : rng.u64()));
    case 1:
      return Uint8Array.from({ length: 8 }, () => rng.int(0, 255));
    case 5:
      return Uint8Array.from({ length: 4 }, () => rng.int(0, 255));
    case 2: {
      const body = randomBytes(rng);
      return new Uint8Array([...varintBytes(BigInt(body.length)), ...body]);
    }
    default: {
      // A group: one varint field inside, then the end tag with the same number.
      const inner = [...varintBytes(BigInt((1 << 3) | 0)), ...varintBytes(BigInt(rng.int(0, 1000)))];
      return new Uint8Array([...inner, ...varintBytes(BigInt(((no << 3) | 4) >>> 0))]);
    }
  }
}
