// Generates `jw<i>(m)`: the JSON text of a message, written directly as a string. protobuf-es's
// toJsonString builds an object (fields in number order, JSON names as keys) and stringifies it; this
// writes the same characters: the same keys in the same order, values formatted as JSON.stringify
// formats what toJson puts there. Well-known types with a custom JSON form that the plan allows as
// leaves (Timestamp, Duration, FieldMask, wrappers) are written by protobuf-es itself.

import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { str, type ModuleBuilder } from "./module-builder.ts";
import { presence } from "./gen-presence.ts";
import { isLeafWkt } from "./codec-plan.ts";

/** Schedules the JSON writer of a message; returns its name. */
export function requireJsonWriter(mb: ModuleBuilder, desc: DescMessage): string {
  const name = "jw" + mb.messageId(desc);
  return mb.require(name, () => genWriter(mb, desc, name));
}

/** An expression for the JSON text of value `v` of a field (or of its items or map values). */
function valueText(mb: ModuleBuilder, field: DescField, v: string): string {
  const name = mb.literal(String(field));
  if (field.message) {
    if (isLeafWkt(field.message)) return `jw_jsonWkt(${mb.constant(field.message)}, ${v})`;
    return `${requireJsonWriter(mb, field.message)}(${v})`;
  }
  if (field.enum) {
    const names: Record<number, string> = {};
    for (const value of field.enum.values) {
      if (!(value.number in names)) names[value.number] = JSON.stringify(field.enum.value[value.number].jsonName);
    }
    return `jw_jsonEnum(${v}, ${mb.constant(names)}, ${name})`;
  }
  switch (field.scalar!) {
    case ScalarType.STRING:
      return `(typeof ${v} === "string" ? JSON.stringify(${v}) : jw_badJsonValue(${name}, ${v}))`;
    case ScalarType.BOOL:
      return `jw_jsonBool(${v}, ${name})`;
    case ScalarType.BYTES:
      return `jw_jsonBytes(${v}, ${name})`;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return `jw_jsonFloat(${v}, ${name})`;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return `jw_jsonInt64(${v}, ${name})`;
    default:
      return `(typeof ${v} === "number" && (${v} | 0) === ${v} ? "" + ${v} : jw_jsonInt(${v}, ${name}))`;
  }
}

function genField(mb: ModuleBuilder, field: DescField): string {
  const key = JSON.stringify(field.jsonName) + ":";
  // The separator is decided at run time: s is "{" until the first field is written.
  const open = (suffix: string) => `s += s.length > 1 ? ${str("," + key + suffix)} : ${str(key + suffix)};`;
  const local = str(field.localName);
  switch (field.fieldKind) {
    case "list":
      return `a = m[${local}]; if (a.length > 0) { ${open("[")} for (i = 0; i < a.length; i++) { if (i > 0) s += ","; v = a[i]; s += ${valueText(mb, field, "v")}; } s += "]"; }`;
    case "map":
      // Object.keys order, like the object protobuf-es builds: the same keys, inserted in that order.
      return `a = m[${local}]; ks = Object.keys(a); if (ks.length > 0) { ${open("{")} for (i = 0; i < ks.length; i++) { if (i > 0) s += ","; v = a[ks[i]]; s += JSON.stringify(ks[i]) + ":" + ${valueText(mb, field, "v")}; } s += "}"; }`;
    default:
      return presence(mb, field, "JSON", `${open("")} s += ${valueText(mb, field, "v")};`);
  }
}

function genWriter(mb: ModuleBuilder, desc: DescMessage, name: string): string {
  const fields = desc.fields.concat().sort((a, b) => a.number - b.number);
  const check = fields.length > 0 ? `if (m.$typeName !== ${str(desc.typeName)}) jw_foreignMessage(${str(String(fields[0]))}, m.$typeName);` : "";
  return `function ${name}(m) {
  ${check}
  let s = "{", v, a, i, ks;
  ${fields.map((f) => genField(mb, f)).join("\n  ")}
  return s + "}";
}`;
}
