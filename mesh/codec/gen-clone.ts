// Generates `c<i>(m)`, a deep copy of a message with exactly the result of protobuf-es's clone(): the
// fields it copies (presence as unsafeIsSet decides), a message made like create(), bytes copied with
// the value's own slice(), unknown fields copied. Where protobuf-es would check a value on the way
// (reflect's set and add), the copy checks it too, and anything unusual (a value of the wrong type, a
// foreign $typeName, a lone surrogate) returns BAIL: the caller then lets protobuf-es clone the whole
// message, which converts or throws exactly as before.

import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { str, type ModuleBuilder } from "./module-builder.ts";
import { requireCreate } from "./gen-create.ts";
import { isSet } from "./gen-presence.ts";

/** FeatureSet.FieldPresence.IMPLICIT as protobuf-es reports it in `DescField.presence`. */
const IMPLICIT = 2;

/** Schedules the clone function of a message; returns its name. */
export function requireClone(mb: ModuleBuilder, desc: DescMessage): string {
  const name = "c" + mb.messageId(desc);
  return mb.require(name, () => genClone(mb, desc, name));
}

/** The condition under which protobuf-es's check (reflect-check.js) accepts scalar `x`. */
function scalarOk(scalar: ScalarType, x: string): string {
  switch (scalar) {
    case ScalarType.DOUBLE:
      return `typeof ${x} === "number"`;
    case ScalarType.FLOAT:
      return `typeof ${x} === "number" && (Number.isFinite(Math.fround(${x})) || !Number.isFinite(${x}))`;
    case ScalarType.INT32:
    case ScalarType.SFIXED32:
    case ScalarType.SINT32:
      return `typeof ${x} === "number" && Number.isInteger(${x}) && ${x} <= 2147483647 && ${x} >= -2147483648`;
    case ScalarType.FIXED32:
    case ScalarType.UINT32:
      return `typeof ${x} === "number" && Number.isInteger(${x}) && ${x} <= 4294967295 && ${x} >= 0`;
    case ScalarType.BOOL:
      return `typeof ${x} === "boolean"`;
    case ScalarType.STRING:
      return `typeof ${x} === "string" && ${x}.isWellFormed()`;
    case ScalarType.BYTES:
      return `${x} instanceof Uint8Array`;
    case ScalarType.INT64:
    case ScalarType.SFIXED64:
    case ScalarType.SINT64:
      // Only the local form (bigint) is copied as is; protobuf-es converts numbers and strings.
      return `typeof ${x} === "bigint" && ${x} <= 9223372036854775807n && ${x} >= -9223372036854775808n`;
    case ScalarType.FIXED64:
    case ScalarType.UINT64:
      return `typeof ${x} === "bigint" && ${x} <= 18446744073709551615n && ${x} >= 0n`;
  }
}

/** Code that checks value `x` of `field` (one item for a list) and puts its copy in `w`, or returns BAIL. */
function copyValue(mb: ModuleBuilder, field: DescField, x: string): string {
  if (field.message !== undefined) return `w = ${requireClone(mb, field.message)}(${x}); if (w === BAIL) return BAIL;`;
  if (field.enum !== undefined) {
    const ok = field.enum.open ? scalarOk(ScalarType.INT32, x) : `${mb.constant(new Set(field.enum.values.map((v) => v.number)))}.has(${x})`;
    return `if (!(${ok})) return BAIL; w = ${x};`;
  }
  const scalar = field.scalar!;
  return `if (!(${scalarOk(scalar, x)})) return BAIL; w = ${scalar === ScalarType.BYTES ? `${x}.slice()` : x};`;
}

/** Code that copies one field of `m` into `o` when protobuf-es's clone would (unsafeIsSet). */
function copyField(mb: ModuleBuilder, field: DescField): string {
  const local = str(field.localName);
  if (field.fieldKind === "list") {
    return `v = m[${local}]; if (!Array.isArray(v)) return BAIL; if (v.length > 0) { a = o[${local}]; for (i = 0; i < v.length; i++) { e = v[i]; ${copyValue(mb, field, "e")} a.push(w); } }`;
  }
  if (field.oneof !== undefined) {
    const group = str(field.oneof.localName);
    return `v = m[${group}]; if (v.case === ${local}) { ${copyValue(mb, field, "v.value")} o[${group}] = { case: ${local}, value: w }; }`;
  }
  const set = field.presence !== IMPLICIT ? `v !== undefined && Object.hasOwn(m, ${local})` : isSet(field);
  return `v = m[${local}]; if (${set}) { ${copyValue(mb, field, "v")} o[${local}] = w; }`;
}

function genClone(mb: ModuleBuilder, desc: DescMessage, name: string): string {
  const create = requireCreate(mb, desc);
  // A oneof group's property must hold an object before any member is looked at.
  const groups = desc.oneofs.map((o) => `v = m[${str(o.localName)}]; if (v === null || typeof v !== "object") return BAIL;`);
  const fields = desc.fields.map((f) => copyField(mb, f));
  return `function ${name}(m) {
  if (m === null || typeof m !== "object" || m.$typeName !== ${str(desc.typeName)}) return BAIL;
  let v, w, e, a, i;
  ${groups.join("\n  ")}
  const o = ${create}();
  ${fields.join("\n  ")}
  v = m.$unknown;
  if (v !== undefined && v !== null) { if (!Array.isArray(v)) return BAIL; if (v.length > 0) o.$unknown = [...v]; }
  return o;
}`;
}
