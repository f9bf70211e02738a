// Generates the two passes of the binary encoder of a message. `s<i>(m, L)` returns the encoded size
// and appends to `L`, in visiting order, every length the write pass needs (string byte lengths, the
// sizes of nested messages, map entries and packed lists); `w<i>(m, b, p, L, k)` writes into the
// exact-size buffer, reading those lengths back from `L[k...]`. A nested message takes two slots: its
// size and the index just past its own slots, so the parent can continue there. Field order, presence
// rules, packing and validation follow protobuf-es's to-binary.js.

import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { str, Locals, type ModuleBuilder } from "./module-builder.ts";
import { presence } from "./gen-presence.ts";
import { requireCreate } from "./gen-create.ts";

/** Schedules the size and write functions of a message; returns their names. */
export function requireEncoder(mb: ModuleBuilder, desc: DescMessage): { size: string; write: string } {
  const id = mb.messageId(desc);
  const size = mb.require("s" + id, () => genSize(mb, desc, "s" + id));
  const write = mb.require("w" + id, () => genWrite(mb, desc, "w" + id));
  return { size, write };
}

/** What a value is on the wire: a scalar (enums are int32) or a message. */
type ValueKind = { scalar: ScalarType } | { message: DescMessage };

function kindOf(field: DescField): ValueKind {
  if (field.message) return { message: field.message };
  if (field.enum) return { scalar: ScalarType.INT32 };
  return { scalar: field.scalar! };
}

/** The wire type protobuf-es writes a value with. */
function wireType(kind: ValueKind): number {
  if ("message" in kind) return 2;
  switch (kind.scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return 2;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return 1;
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
    case ScalarType.FLOAT:
      return 5;
    default:
      return 0;
  }
}

/** The varint bytes of a tag. */
function tagBytes(fieldNo: number, wire: number): number[] {
  let v = ((fieldNo << 3) | wire) >>> 0;
  const bytes: number[] = [];
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return bytes;
}

function writeTag(fieldNo: number, wire: number): string {
  return tagBytes(fieldNo, wire)
    .map((byte) => `b[p++] = ${byte};`)
    .join(" ");
}

const INT64_KIND: Partial<Record<ScalarType, number>> = { [ScalarType.INT64]: 0, [ScalarType.UINT64]: 1, [ScalarType.SINT64]: 2 };

/** Validates an int32 (numeric strings allowed, as protobuf-es) into `v`. */
function int32(v: string, name: string): string {
  return `if (typeof ${v} !== "number" || (${v} | 0) !== ${v}) ${v} = bw_int32Value(${v}, ${name});`;
}

function uint32(v: string, name: string): string {
  return `if (typeof ${v} !== "number" || ${v} >>> 0 !== ${v}) ${v} = bw_uint32Value(${v}, ${name});`;
}

/** Code adding the size of value `v` (no tag) to `acc`; may rebind `v` and push to `L`. */
function sizeValue(mb: ModuleBuilder, kind: ValueKind, v: string, acc: string, name: string, locals: Locals): string {
  if ("message" in kind) {
    const slot = locals.fresh("c");
    const len = locals.fresh("l");
    // protobuf-es writes an empty message for an undefined list item, map value or oneof value.
    return `if (${v} === undefined) ${v} = ${requireCreate(mb, kind.message)}(); ${slot} = L.length; L.push(0, 0); ${len} = ${requireEncoder(mb, kind.message).size}(${v}, L); L[${slot}] = ${len}; L[${slot} + 1] = L.length; ${acc} += bw_varintSize(${len}) + ${len};`;
  }
  switch (kind.scalar) {
    case ScalarType.INT32:
      return `${int32(v, name)} ${acc} += ${v} < 0 ? 10 : bw_varintSize(${v});`;
    case ScalarType.UINT32:
      return `${uint32(v, name)} ${acc} += bw_varintSize(${v});`;
    case ScalarType.SINT32:
      return `${int32(v, name)} ${acc} += bw_varintSize(((${v} << 1) ^ (${v} >> 31)) >>> 0);`;
    case ScalarType.BOOL:
      return `${acc} += 1;`;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
      return `${acc} += bw_int64Size(${v}, ${INT64_KIND[kind.scalar]}, ${name});`;
    case ScalarType.FIXED32:
      return `${uint32(v, name)} ${acc} += 4;`;
    case ScalarType.SFIXED32:
      return `${int32(v, name)} ${acc} += 4;`;
    case ScalarType.FLOAT:
      return `bw_float32Value(${v}, ${name}); ${acc} += 4;`;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return `${acc} += 8;`;
    case ScalarType.STRING: {
      const len = locals.fresh("l");
      return `if (typeof ${v} !== "string") ${v} = String(${v}); ${len} = bw_utf8Length(${v}); L.push(${len}); ${acc} += bw_varintSize(${len}) + ${len};`;
    }
    case ScalarType.BYTES:
      return `if (!(${v} instanceof Uint8Array)) bw_notBytes(${v}, ${name}); ${acc} += bw_varintSize(${v}.length) + ${v}.length;`;
  }
}

/** Writes an unsigned varint held in variable `v` (not modified). */
function varint(v: string): string {
  return `if (${v} < 128) b[p++] = ${v}; else p = bw_writeVarint32(b, p, ${v});`;
}

/** Code writing value `v` (no tag); may rebind `v`; reads lengths from `L[k...]`. */
function writeValue(mb: ModuleBuilder, kind: ValueKind, v: string, name: string, locals: Locals): string {
  if ("message" in kind) {
    const len = locals.fresh("l");
    const next = locals.fresh("j");
    return `if (${v} === undefined) ${v} = ${requireCreate(mb, kind.message)}(); ${len} = L[k]; ${next} = L[k + 1]; ${varint(len)} p = ${requireEncoder(mb, kind.message).write}(${v}, b, p, L, k + 2); k = ${next};`;
  }
  switch (kind.scalar) {
    case ScalarType.INT32:
      return `${int32(v, name)} if (${v} >= 0) { ${varint(v)} } else p = bw_writeNegativeInt32(b, p, ${v});`;
    case ScalarType.UINT32:
      return `${uint32(v, name)} ${varint(v)}`;
    case ScalarType.SINT32:
      return `${int32(v, name)} ${v} = ((${v} << 1) ^ (${v} >> 31)) >>> 0; ${varint(v)}`;
    case ScalarType.BOOL:
      return `b[p++] = ${v} ? 1 : 0;`;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
      return `p = bw_writeInt64(b, p, ${v}, ${INT64_KIND[kind.scalar]}, ${name});`;
    case ScalarType.FIXED32:
      return `${uint32(v, name)} p = bw_writeFixed32(b, p, ${v});`;
    case ScalarType.SFIXED32:
      return `${int32(v, name)} p = bw_writeFixed32(b, p, ${v});`;
    case ScalarType.FLOAT:
      return `p = bw_writeFloat(b, p, ${v});`;
    case ScalarType.DOUBLE:
      return `p = bw_writeDouble(b, p, ${v});`;
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return `p = bw_writeFixed64(b, p, ${v}, ${kind.scalar === ScalarType.SFIXED64}, ${name});`;
    case ScalarType.STRING: {
      const len = locals.fresh("l");
      return `if (typeof ${v} !== "string") ${v} = String(${v}); ${len} = L[k++]; ${varint(len)} p = bw_writeString(b, p, ${v}, ${len});`;
    }
    case ScalarType.BYTES: {
      const len = locals.fresh("l");
      return `${len} = ${v}.length; ${varint(len)} p = bw_writeBytes(b, p, ${v});`;
    }
  }
}

/** The conversion protobuf-es applies to a map key (always a string property) before writing it. */
function mapKey(type: ScalarType, key: string): string {
  switch (type) {
    case ScalarType.STRING:
      return key;
    case ScalarType.BOOL:
      return `(${key} === "true" ? true : ${key} === "false" ? false : ${key})`;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return `bw_mapKey64(${key}, false)`;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return `bw_mapKey64(${key}, true)`;
    default:
      return `bw_mapKey32(${key})`;
  }
}

/** The code of one field for the size pass (`size`) or the write pass. */
function genField(mb: ModuleBuilder, field: DescField, size: boolean, locals: Locals): string {
  const name = mb.literal(`${field.parent.typeName}.${field.name}`);
  const local = str(field.localName);
  const kind = kindOf(field);
  const tag = tagBytes(field.number, wireType(kind));
  const value = (v: string, acc: string) => (size ? sizeValue(mb, kind, v, acc, name, locals) : writeValue(mb, kind, v, name, locals));
  const tagged = (v: string) => (size ? `z += ${tag.length}; ${value(v, "z")}` : `${writeTag(field.number, wireType(kind))} ${value(v, "")}`);
  switch (field.fieldKind) {
    case "scalar":
    case "enum":
    case "message":
      return presence(mb, field, "binary", tagged("v"));
    case "list": {
      const loop = (body: string) => `a = m[${local}]; for (i = 0; i < a.length; i++) { v = a[i]; ${body} }`;
      if (!field.packed || field.listKind === "message") return loop(tagged("v"));
      const q = locals.fresh("q");
      const slot = locals.fresh("c");
      if (size) {
        return `a = m[${local}]; if (a.length != 0) { ${slot} = L.length; L.push(0); ${q} = 0; for (i = 0; i < a.length; i++) { v = a[i]; ${value("v", q)} } L[${slot}] = ${q}; z += ${tagBytes(field.number, 2).length} + bw_varintSize(${q}) + ${q}; }`;
      }
      return `a = m[${local}]; if (a.length != 0) { ${writeTag(field.number, 2)} ${q} = L[k++]; ${varint(q)} for (i = 0; i < a.length; i++) { v = a[i]; ${value("v", "")} } }`;
    }
    case "map": {
      const keyKind: ValueKind = { scalar: field.mapKey };
      const key = size ? sizeValue(mb, keyKind, "kv", "q", name, locals) : writeValue(mb, keyKind, "kv", name, locals);
      const entry = `ks = Object.keys(a = m[${local}]); for (i = 0; i < ks.length; i++) { kk = ks[i]; v = a[kk]; kv = ${mapKey(field.mapKey, "kk")};`;
      const slot = locals.fresh("c");
      if (size) {
        return `${entry} ${slot} = L.length; L.push(0); q = 2; ${key} ${value("v", "q")} L[${slot}] = q; z += ${tagBytes(field.number, 2).length} + bw_varintSize(q) + q; }`;
      }
      const keyTag = tagBytes(1, wireType(keyKind))[0];
      const valueTag = tagBytes(2, wireType(kind))[0];
      return `${entry} ${writeTag(field.number, 2)} q = L[k++]; ${varint("q")} b[p++] = ${keyTag}; ${key} b[p++] = ${valueTag}; ${value("v", "")} }`;
    }
  }
}

function sortedFields(desc: DescMessage): DescField[] {
  return desc.fields.concat().sort((a, b) => a.number - b.number);
}

function genSize(mb: ModuleBuilder, desc: DescMessage, name: string): string {
  const locals = new Locals();
  const fields = sortedFields(desc);
  const body = fields.map((f) => genField(mb, f, true, locals)).join("\n  ");
  // protobuf-es checks the type of every message it encodes, except messages without fields.
  const check = fields.length > 0 ? `if (m.$typeName !== ${str(desc.typeName)}) jw_foreignMessage(${str(String(fields[0]))}, m.$typeName);` : "";
  return `function ${name}(m, L) {
  ${check}
  let z = 0, v, a, i, ks, kk, kv, q; ${locals.declare()}
  ${body}
  v = m.$unknown; if (v !== undefined) z += bw_unknownSize(v);
  return z;
}`;
}

function genWrite(mb: ModuleBuilder, desc: DescMessage, name: string): string {
  const locals = new Locals();
  const body = sortedFields(desc)
    .map((f) => genField(mb, f, false, locals))
    .join("\n  ");
  return `function ${name}(m, b, p, L, k) {
  let v, a, i, ks, kk, kv, q; ${locals.declare()}
  ${body}
  v = m.$unknown; if (v !== undefined) p = bw_writeUnknown(b, p, v);
  return p;
}`;
}
