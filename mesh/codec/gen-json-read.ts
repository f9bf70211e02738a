// Generates `jr<i>(m, j, c)`: reads the parsed JSON object `j` into message `m`, like protobuf-es's
// from-json.js: keys by proto name or JSON name, a field set twice (under either name) or a second
// member of a oneof rejected, null resetting a field (but skipped for oneof scalars), unknown keys
// rejected unless ignoreUnknownFields, recursion limit 100. It also counts the keys of every object it
// walks into `c.k`, for the duplicate-key check (json-duplicate-keys.ts).

import { ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { str, type ModuleBuilder } from "./module-builder.ts";
import { requireCreate } from "./gen-create.ts";
import { isLeafWkt } from "./codec-plan.ts";
import type { EnumInfo } from "./runtime-json-read.ts";

/** Schedules the JSON reader of a message; returns its name. */
export function requireJsonReader(mb: ModuleBuilder, desc: DescMessage): string {
  const name = "jr" + mb.messageId(desc);
  return mb.require(name, () => genReader(mb, desc, name));
}

/** An expression converting JSON value `v` of a scalar field to its local form (throws if invalid). */
function scalar(type: ScalarType, v: string, name: string, longAsString: boolean): string {
  switch (type) {
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return `(typeof ${v} === "number" && (${v} | 0) === ${v} ? ${v} : jr_readInt32(${v}, ${name}))`;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return `(typeof ${v} === "number" && ${v} >>> 0 === ${v} ? ${v} : jr_readUint32(${v}, ${name}))`;
    case ScalarType.DOUBLE:
      return `(typeof ${v} === "number" ? ${v} : jr_readDouble(${v}, ${name}))`;
    case ScalarType.FLOAT:
      return `jr_readFloat(${v}, ${name})`;
    case ScalarType.BOOL:
      return `(typeof ${v} === "boolean" ? ${v} : jr_readBool(${v}, ${name}))`;
    case ScalarType.STRING:
      return `jr_readString(${v}, ${name})`;
    case ScalarType.BYTES:
      return `jr_readBytes(${v}, ${name})`;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return `jr_readInt64(${v}, ${name}, true, ${longAsString})`;
    default:
      return `jr_readInt64(${v}, ${name}, false, ${longAsString})`;
  }
}

/** What readEnum needs, built like protobuf-es's converter: JSON names first, proto names win. */
function enumInfo(field: DescField): EnumInfo {
  const desc = field.enum!;
  const numbers = new Map<string, number>();
  for (const value of desc.values) numbers.set(value.jsonName, value.number);
  for (const value of desc.values) numbers.set(value.name, value.number);
  return {
    typeName: desc.typeName,
    zero: desc.values[0].number,
    numbers,
    closedValues: desc.open ? undefined : new Set(desc.values.map((v) => v.number)),
  };
}

/** Code reading JSON value `v` (not null) of a message-typed field into a new or existing child `x`. */
function child(mb: ModuleBuilder, desc: DescMessage, v: string): string {
  if (isLeafWkt(desc)) {
    // protobuf-es's own reader; the limit counts it as one more level, as protobuf-es does.
    return `if (c.d >= 100) jr_jsonDepthExceeded(${str(desc.typeName)}); x = jr_readWkt(${mb.constant(desc)}, ${v});`;
  }
  return `if (x === undefined) x = ${requireCreate(mb, desc)}(); ${requireJsonReader(mb, desc)}(x, ${v}, c);`;
}

/** Code for a singular field (scalar, enum or message, possibly in a oneof). */
function singular(mb: ModuleBuilder, field: DescField, name: string): string {
  const local = str(field.localName);
  if (field.oneof) {
    const oneof = str(field.oneof.localName);
    const set = `m[${oneof}] = { case: ${local}, value: x };`;
    const reset = `if (m[${oneof}].case === ${local}) m[${oneof}] = { case: undefined };`;
    switch (field.fieldKind) {
      case "scalar":
        return `x = ${scalar(field.scalar, "v", name, field.longAsString)}; ${set}`;
      case "enum":
        return `if (v === null) { ${reset} } else { x = jr_readEnum(v, ${mb.constant(enumInfo(field))}, ${name}, c.ignoreUnknownFields); if (x !== jr_IGNORED) { ${set} } }`;
      default:
        return `if (v === null) { ${reset} } else { x = m[${oneof}]; x = x.case === ${local} ? x.value : undefined; ${child(mb, field.message!, "v")} ${set} }`;
    }
  }
  const explicit = field.presence !== 2;
  switch (field.fieldKind) {
    case "scalar": {
      const zero = field.scalar === ScalarType.BYTES ? "new Uint8Array(0)" : mb.literal(zeroValue(field.scalar, field.longAsString));
      const clear = explicit ? `delete m[${local}];` : `m[${local}] = ${zero};`;
      return `if (v === null) ${clear} else m[${local}] = ${scalar(field.scalar, "v", name, field.longAsString)};`;
    }
    case "enum": {
      const clear = explicit ? `delete m[${local}];` : `m[${local}] = ${mb.literal(field.enum.values[0].number)};`;
      return `if (v === null) ${clear} else { x = jr_readEnum(v, ${mb.constant(enumInfo(field))}, ${name}, c.ignoreUnknownFields); if (x !== jr_IGNORED) m[${local}] = x; }`;
    }
    default:
      return `if (v === null) delete m[${local}]; else { x = m[${local}]; ${child(mb, field.message!, "v")} m[${local}] = x; }`;
  }
}

function zeroValue(type: ScalarType, longAsString: boolean): unknown {
  switch (type) {
    case ScalarType.STRING:
      return "";
    case ScalarType.BOOL:
      return false;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return longAsString ? "0" : 0n;
    default:
      return 0;
  }
}

/** Code converting list item or map value `y` (already known not to be null) into `x`; false-y skips. */
function item(mb: ModuleBuilder, field: DescField, name: string, longAsString: boolean): string {
  if (field.message) return `x = undefined; ${child(mb, field.message, "y")}`;
  if (field.enum) return `x = jr_readEnum(y, ${mb.constant(enumInfo(field))}, ${name}, c.ignoreUnknownFields); if (x === jr_IGNORED) continue;`;
  return `x = ${scalar(field.scalar!, "y", name, longAsString)};`;
}

function list(mb: ModuleBuilder, field: DescField & { fieldKind: "list" }, name: string): string {
  const longAsString = field.listKind === "scalar" && field.longAsString;
  return `if (v !== null) {
      if (!Array.isArray(v)) jr_badShape(${name}, "expected Array");
      a = m[${str(field.localName)}];
      for (i = 0; i < v.length; i++) { y = v[i]; if (y === null) jr_badShape(${name}, "list item must not be null"); ${item(mb, field, name, longAsString)} a.push(x); }
    }`;
}

const KEY_KIND: Partial<Record<ScalarType, string>> = {
  [ScalarType.BOOL]: "bool",
  [ScalarType.INT32]: "int32",
  [ScalarType.SINT32]: "int32",
  [ScalarType.SFIXED32]: "int32",
  [ScalarType.UINT32]: "uint32",
  [ScalarType.FIXED32]: "uint32",
  [ScalarType.INT64]: "int64",
  [ScalarType.SINT64]: "int64",
  [ScalarType.SFIXED64]: "int64",
  [ScalarType.UINT64]: "uint64",
  [ScalarType.FIXED64]: "uint64",
  [ScalarType.STRING]: "string",
};

function map(mb: ModuleBuilder, field: DescField & { fieldKind: "map" }, name: string): string {
  const kind = KEY_KIND[field.mapKey]!;
  const parse = kind === "string" ? "kk" : kind === "bool" ? "jr_mapKeyBool(kk)" : kind.endsWith("int32") ? "jr_mapKey32(kk)" : "jr_mapKey64(kk)";
  // String keys are unique after JSON.parse; parsed keys of other types can collide ("1" and "01").
  const seen = kind === "string" ? "" : `if (seen.has(key)) jr_badShape(${name}, "duplicate map key"); seen.add(key);`;
  const set = kind === "string" ? "br_setOwn(a, key, x);" : "a[key] = x;";
  return `if (v !== null) {
      if (typeof v !== "object" || Array.isArray(v)) jr_badShape(${name}, "expected object");
      a = m[${str(field.localName)}]; ks = Object.keys(v); c.k += ks.length;${kind === "string" ? "" : " seen = new Set();"}
      for (i = 0; i < ks.length; i++) {
        kk = ks[i]; y = v[kk]; key = ${parse};
        ${seen}
        if (y === null) jr_badShape(${name}, "map value must not be null");
        ${item(mb, field, name, false)}
        jr_checkMapKey(key, "${kind}", ${name});
        ${set}
      }
    }`;
}

function genReader(mb: ModuleBuilder, desc: DescMessage, name: string): string {
  // Keys as protobuf-es registers them: proto name, then JSON name; a later field takes over a key.
  const fieldOfKey = new Map<string, DescField>();
  for (const f of desc.fields) fieldOfKey.set(f.name, f).set(f.jsonName, f);
  const keysOf = new Map<DescField, string[]>();
  for (const [key, f] of fieldOfKey) keysOf.set(f, [...(keysOf.get(f) ?? []), key]);
  const oneofVar = new Map(desc.oneofs.map((o, i) => [o, "o" + i]));
  const seenWords = Math.ceil(desc.fields.length / 31);
  const cases: string[] = [];
  desc.fields.forEach((field, index) => {
    const keys = keysOf.get(field);
    if (keys === undefined) return;
    const fieldName = mb.literal(String(field));
    const word = "f" + Math.floor(index / 31);
    const bit = 1 << index % 31;
    const lines = [`if (${word} & ${bit}) jr_setTwice(${fieldName}); ${word} |= ${bit};`];
    if (field.oneof) {
      if (field.fieldKind === "scalar") lines.push("if (v === null) break;");
      const o = oneofVar.get(field.oneof)!;
      lines.push(`if (${o} !== undefined) jr_oneofTwice(${mb.literal(String(field.oneof))}, ${o}, ${str(field.name)}); ${o} = ${str(field.name)};`);
    }
    if (field.fieldKind === "list") lines.push(list(mb, field, fieldName));
    else if (field.fieldKind === "map") lines.push(map(mb, field, fieldName));
    else lines.push(singular(mb, field, fieldName));
    cases.push(`      ${keys.map((k) => `case ${str(k)}:`).join(" ")} {\n        ${lines.join("\n        ")}\n        break;\n      }`);
  });
  const locals = ["v", "x", "y", "a", "i", "ks", "kk", "key", "seen", ...oneofVar.values()];
  for (let w = 0; w < seenWords; w++) locals.push(`f${w} = 0`);
  const typeName = str(desc.typeName);
  return `function ${name}(m, j, c) {
  if (++c.d > 100) jr_jsonDepthExceeded(${typeName});
  if (j === null || typeof j !== "object" || Array.isArray(j)) jr_notAnObject(${typeName}, j);
  const keys = Object.keys(j);
  c.k += keys.length;
  let ${locals.join(", ")};
  for (let q = 0; q < keys.length; q++) {
    const k = keys[q];
    v = j[k];
    switch (k) {
${cases.join("\n")}
      default:
        if (!c.ignoreUnknownFields) jr_unknownKey(${typeName}, k);
        c.k += jr_countKeys(v);
    }
  }
  c.d--;
}`;
}
