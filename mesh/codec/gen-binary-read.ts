// Generates `d<i>(m, b, p, end, depth)`: decodes the wire records of one message from `b[p, end)` into
// `m` and returns the position after the last record. It follows protobuf-es's from-binary.js record
// for record: fields are dispatched by number whatever their wire type (only packed lists look at it),
// records may run past `end` (only the buffer bounds are checked), repeated singular message fields
// merge, closed enums keep unknown values as unknown fields, and the depth limit is 100.

import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { str, type ModuleBuilder } from "./module-builder.ts";
import { requireCreate } from "./gen-create.ts";

/** Schedules the decoder of a message; returns its name. */
export function requireDecoder(mb: ModuleBuilder, desc: DescMessage): string {
  const name = "d" + mb.messageId(desc);
  return mb.require(name, () => genDecoder(mb, desc, name));
}

/** Reads an unsigned varint into `v`: one byte inline, longer ones by the helper. */
function varint(v: string): string {
  return `if (p < n && (${v} = b[p]) < 128) p++; else { ${v} = br_readVarint32(b, p, st); p = st.p; }`;
}

/** Reads a tag into `t` and rejects field number 0 and wire types 6 and 7. */
const TAG = "if (p < n && (t = b[p]) < 128) p++; else { t = br_readTag(b, p, st); p = st.p; } if (t < 8 || (t & 7) > 5) br_illegalTag(t);";

/** Code that reads one scalar value into `x`. */
export function readScalar(type: ScalarType, x: string, validateUtf8: boolean, longAsString: boolean): string {
  const bigint = (expr: string) => (longAsString ? `"" + (${expr})` : `BigInt(${expr})`);
  const str64 = longAsString ? ` ${x} = String(${x});` : "";
  switch (type) {
    case ScalarType.INT32:
      return `${varint("v")} ${x} = v | 0;`;
    case ScalarType.UINT32:
      return `${varint("v")} ${x} = v;`;
    case ScalarType.SINT32:
      return `${varint("v")} ${x} = (v >>> 1) ^ -(v & 1);`;
    case ScalarType.BOOL:
      return `if (p < n && (v = b[p]) < 128) { p++; ${x} = v !== 0; } else { ${x} = br_readBool(b, p, st); p = st.p; }`;
    case ScalarType.INT64:
      return `if (p < n && (v = b[p]) < 128) { p++; ${x} = ${bigint("v")}; } else { ${x} = br_readInt64(b, p, st); p = st.p;${str64} }`;
    case ScalarType.UINT64:
      return `if (p < n && (v = b[p]) < 128) { p++; ${x} = ${bigint("v")}; } else { ${x} = br_readUint64(b, p, st); p = st.p;${str64} }`;
    case ScalarType.SINT64:
      return `if (p < n && (v = b[p]) < 128) { p++; ${x} = ${bigint("(v >>> 1) ^ -(v & 1)")}; } else { ${x} = br_readSint64(b, p, st); p = st.p;${str64} }`;
    case ScalarType.FIXED32:
      return `if (p + 4 > n) br_eof(); ${x} = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0; p += 4;`;
    case ScalarType.SFIXED32:
      return `if (p + 4 > n) br_eof(); ${x} = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24); p += 4;`;
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return `if (p + 8 > n) br_eof(); ${x} = br_readFixed64(b, p, ${type === ScalarType.SFIXED64}); p += 8;${str64}`;
    case ScalarType.FLOAT:
      return `if (p + 4 > n) br_eof(); ${x} = br_readFloat(b, p); p += 4;`;
    case ScalarType.DOUBLE:
      return `if (p + 8 > n) br_eof(); ${x} = br_readDouble(b, p); p += 8;`;
    case ScalarType.STRING:
      return `${varint("v")} s = p; p += v; if (p > n) br_eof(); ${x} = br_readString(b, s, p, ${validateUtf8});`;
    case ScalarType.BYTES:
      return `${varint("v")} s = p; p += v; if (p > n) br_eof(); ${x} = b.subarray(s, p);`;
  }
}

/** Code that stores `x` in a singular field (or its oneof group). */
function store(field: DescField, x: string): string {
  return field.oneof ? `m[${str(field.oneof.localName)}] = { case: ${str(field.localName)}, value: ${x} };` : `m[${str(field.localName)}] = ${x};`;
}

function genField(mb: ModuleBuilder, field: DescField): string {
  const local = str(field.localName);
  switch (field.fieldKind) {
    case "scalar":
      return readScalar(field.scalar, "x", field.utf8Validation, field.longAsString) + " " + store(field, "x");
    case "enum": {
      const read = readScalar(ScalarType.INT32, "x", false, false);
      if (field.enum.open) return `${read} ${store(field, "x")}`;
      // Closed enum: an unknown value becomes an unknown field, re-encoded as an int32 varint.
      const known = mb.constant(new Set(field.enum.values.map((v) => v.number)));
      return `${read} if (${known}.has(x)) { ${store(field, "x")} } else { c = m.$unknown; if (c === undefined) m.$unknown = c = []; c.push({ no: ${field.number}, wireType: t & 7, data: br_encodeEnumVarint(x) }); }`;
    }
    case "message": {
      const createChild = requireCreate(mb, field.message);
      const decodeChild = requireDecoder(mb, field.message);
      const read = `${varint("v")} p = ${decodeChild}(c, b, p, p + v, depth + 1);`;
      if (field.oneof) {
        const oneof = str(field.oneof.localName);
        return `c = m[${oneof}]; c = c.case === ${local} ? c.value : ${createChild}(); ${read} m[${oneof}] = { case: ${local}, value: c };`;
      }
      return `c = m[${local}]; if (c === undefined) c = ${createChild}(); ${read} m[${local}] = c;`;
    }
    case "list": {
      if (field.listKind === "message") {
        const read = `${varint("v")} c = ${requireCreate(mb, field.message)}(); p = ${requireDecoder(mb, field.message)}(c, b, p, p + v, depth + 1);`;
        return `${read} m[${local}].push(c);`;
      }
      const scalar = field.listKind === "enum" ? ScalarType.INT32 : field.scalar;
      const longAsString = field.listKind === "scalar" && field.longAsString;
      const read = readScalar(scalar, "x", field.utf8Validation, longAsString);
      if (scalar === ScalarType.STRING || scalar === ScalarType.BYTES) return `${read} m[${local}].push(x);`;
      // Packed or not, whatever the schema says: protobuf-es accepts both.
      return `a = m[${local}]; if ((t & 7) === 2) { ${varint("v")} e = p + v; while (p < e) { ${read} a.push(x); } } else { ${read} a.push(x); }`;
    }
    case "map":
      return genMapEntry(mb, field);
  }
}

/** Code for one map entry record: key (field 1) and value (field 2), in any order, defaults if absent. */
function genMapEntry(mb: ModuleBuilder, field: DescField & { fieldKind: "map" }): string {
  const readKey = readScalar(field.mapKey, "mk", field.utf8Validation, false);
  let readValue: string;
  let fallback: string;
  switch (field.mapKind) {
    case "scalar":
      readValue = readScalar(field.scalar, "mv", field.utf8Validation, false);
      fallback = field.scalar === ScalarType.BYTES ? "new Uint8Array(0)" : zeroLiteral(field.scalar);
      break;
    case "enum":
      readValue = readScalar(ScalarType.INT32, "mv", false, false);
      fallback = String(field.enum.values[0].number);
      break;
    case "message": {
      const createChild = requireCreate(mb, field.message);
      readValue = `${varint("v")} if (mv === undefined) mv = ${createChild}(); p = ${requireDecoder(mb, field.message)}(mv, b, p, p + v, depth + 1);`;
      fallback = `${createChild}()`;
      break;
    }
  }
  const set = field.mapKey === ScalarType.STRING ? `if (mk === "__proto__") br_setOwn(a, mk, mv); else a[mk] = mv;` : "a[mk] = mv;";
  return [
    `a = m[${str(field.localName)}]; ${varint("v")} e = p + v;`,
    "let mk, mv;",
    `while (p < e) { ${TAG} if (t >>> 3 === 1) { ${readKey} } else if (t >>> 3 === 2) { ${readValue} } else { p = br_skipField(b, p, t & 7, t >>> 3, 100 - depth, st); } }`,
    `if (mk === undefined) mk = ${zeroLiteral(field.mapKey)}; if (mv === undefined) mv = ${fallback};`,
    set,
  ].join("\n      ");
}

/** The zero value of a scalar type (64-bit as bigint, as protobuf-es uses for map keys and values). */
function zeroLiteral(type: ScalarType): string {
  switch (type) {
    case ScalarType.STRING:
      return '""';
    case ScalarType.BOOL:
      return "false";
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return "0n";
    default:
      return "0";
  }
}

function genDecoder(mb: ModuleBuilder, desc: DescMessage, name: string): string {
  const cases = desc.fields.map((f) => `    case ${f.number}: {\n      ${genField(mb, f)}\n      break;\n    }`);
  return `function ${name}(m, b, p, end, depth) {
  if (depth > 100) br_depthExceeded(${str(desc.typeName)});
  const n = b.length;
  let unk = m.$unknown, t, v, x, s, c, e, a;
  while (p < end) {
    ${TAG}
    switch (t >>> 3) {
${cases.join("\n")}
    default:
      s = p;
      p = br_skipField(b, p, t & 7, t >>> 3, 100 - depth, st);
      if (unk === undefined) unk = [];
      unk.push({ no: t >>> 3, wireType: t & 7, data: b.subarray(s, p) });
    }
  }
  if (unk !== undefined && unk.length > 0) m.$unknown = unk;
  return p;
}`;
}
