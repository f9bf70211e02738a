// Generates `jw<i>(m)`: the JSON value of a message, exactly the value protobuf-es's toJson builds
// (to-json.js), built by straight-line code instead of a closure per field; toJsonString then makes
// one JSON.stringify call, as protobuf-es does. Building the same object the same way (fields in
// number order, one assignment per set field, map keys in Object.keys order) makes the text identical
// by construction, including JSON.stringify's own key order and escaping. Well-known types with a
// custom JSON form that the plan allows as leaves (Timestamp, Duration, FieldMask, wrappers) are
// converted by protobuf-es's toJson.

import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { str, type ModuleBuilder } from "./module-builder.ts";
import { presence } from "./gen-presence.ts";
import { isLeafWkt } from "./codec-plan.ts";
import { requireCreate } from "./gen-create.ts";

/** Schedules the JSON value builder of a message; returns its name. */
export function requireJsonWriter(mb: ModuleBuilder, desc: DescMessage): string {
  const name = "jw" + mb.messageId(desc);
  return mb.require(name, () => genWriter(mb, desc, name));
}

/** An expression for the JSON value of `v`, a value of the field (or an item or map value of it). */
function jsonValue(mb: ModuleBuilder, field: DescField, v: string): string {
  const name = mb.literal(String(field));
  if (field.message) {
    // protobuf-es writes an empty message for an undefined list item, map value or oneof value.
    if (isLeafWkt(field.message)) return `jw_jsonWkt(${mb.constant(field.message)}, ${v})`;
    return `${requireJsonWriter(mb, field.message)}(${v} === undefined ? ${requireCreate(mb, field.message)}() : ${v})`;
  }
  if (field.enum) {
    const names: Record<number, string> = {};
    for (const value of field.enum.values) names[value.number] = field.enum.value[value.number].jsonName;
    return `jw_jsonEnum(${v}, ${mb.constant(names)}, ${name})`;
  }
  switch (field.scalar!) {
    case ScalarType.STRING:
      return `(typeof ${v} === "string" ? ${v} : jw_badJsonValue(${name}, ${v}))`;
    case ScalarType.BOOL:
      return `(typeof ${v} === "boolean" ? ${v} : jw_badJsonValue(${name}, ${v}))`;
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
      return `(typeof ${v} === "number" ? ${v} : jw_badJsonValue(${name}, ${v}))`;
  }
}

function genField(mb: ModuleBuilder, field: DescField): string {
  const key = `j[${str(field.jsonName)}]`;
  const local = str(field.localName);
  switch (field.fieldKind) {
    case "list":
      // A loose test, like protobuf-es: a non-array value with no length still writes [].
      return `a = m[${local}]; if (a.length != 0) { o = []; for (i = 0; i < a.length; i++) { v = a[i]; o.push(${jsonValue(mb, field, "v")}); } ${key} = o; }`;
    case "map":
      // Keys in Object.keys order, set as own properties ("__proto__" included), like protobuf-es.
      return `a = m[${local}]; ks = Object.keys(a); if (ks.length > 0) { o = {}; for (i = 0; i < ks.length; i++) { k = ks[i]; v = a[k]; v = ${jsonValue(mb, field, "v")}; if (k === "__proto__") br_setOwn(o, k, v); else o[k] = v; } ${key} = o; }`;
    default:
      return presence(mb, field, "JSON", `${key} = ${jsonValue(mb, field, "v")};`);
  }
}

function genWriter(mb: ModuleBuilder, desc: DescMessage, name: string): string {
  const fields = desc.fields.concat().sort((a, b) => a.number - b.number);
  const check = fields.length > 0 ? `if (m.$typeName !== ${str(desc.typeName)}) jw_foreignMessage(${str(String(fields[0]))}, m.$typeName);` : "";
  return `function ${name}(m) {
  ${check}
  const j = {};
  let v, a, i, ks, k, o;
  ${fields.map((f) => genField(mb, f)).join("\n  ")}
  return j;
}`;
}
