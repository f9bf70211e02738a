// Test-only schemas covering what gen/ lacks, built as FileDescriptorProtos (gen/ must match the
// protos in proto/, so none are added there): every scalar type singular, optional, repeated (packed
// and not) and as map keys and values; oneofs of every kind; recursion; 64-bit fields as strings;
// well-known types; awkward names; proto2 defaults, required fields, closed enums, groups; editions
// features; and messages the planner must delegate.

import type { DescFile, JsonObject } from "@bufbuild/protobuf";
import { enumType, fileRegistry, MAP_KEYS, mapField, message, SCALARS, type FieldSpec, type Scalar } from "./descriptor-dsl.ts";

const V3 = ".codec.test.v3";

function proto3(): JsonObject {
  const color = enumType("Color", [["COLOR_UNSPECIFIED", 0], ["COLOR_RED", 1], ["COLOR_GREEN", 2], ["COLOR_ALIAS", 2], ["COLOR_NEG", -3]], { allowAlias: true });
  const scalars = (start: number, extra: Partial<FieldSpec> = {}) => SCALARS.map((type, i): FieldSpec => ({ name: `f_${type}`, number: start + i, type, ...extra }));
  const values: [Scalar | `.${string}`, "message" | "enum" | undefined][] = [
    ["string", undefined], ["int32", undefined], ["bytes", undefined], [`${V3}.Color`, "enum"], [`${V3}.Scalars`, "message"],
    ["double", undefined], ["float", undefined], ["int64", undefined], ["bool", undefined], ["uint64", undefined], ["sint32", undefined], ["fixed64", undefined],
  ];
  const maps = MAP_KEYS.map((key, i) => mapField(`${V3}.Maps`, `m_${key}`, i + 1, key, values[i % values.length][0], values[i % values.length][1]));
  const extraMaps = [mapField(`${V3}.Maps`, "by_name", 20, "string", `${V3}.Recursive`, "message"), mapField(`${V3}.Maps`, "flags", 21, "bool", "bool")];
  const oneofMembers: FieldSpec[] = [
    { name: "o_int32", number: 1, type: "int32", oneof: "choice" },
    { name: "o_string", number: 2, type: "string", oneof: "choice" },
    { name: "o_bytes", number: 3, type: "bytes", oneof: "choice" },
    { name: "o_color", number: 4, type: `${V3}.Color`, kind: "enum", oneof: "choice" },
    { name: "o_scalars", number: 5, type: `${V3}.Scalars`, kind: "message", oneof: "choice" },
    { name: "o_double", number: 6, type: "double", oneof: "choice" },
    { name: "o_int64", number: 7, type: "int64", oneof: "choice", options: { jstype: "JS_STRING" } },
    { name: "o_recursive", number: 8, type: `${V3}.Recursive`, kind: "message", oneof: "choice" },
    { name: "o_wrapped", number: 9, type: ".google.protobuf.Int32Value", kind: "message", oneof: "other" },
    { name: "o_text", number: 10, type: "string", oneof: "other" },
    { name: "o_bool", number: 11, type: "bool", oneof: "other" },
  ];
  return {
    name: "codec/test/v3.proto",
    package: "codec.test.v3",
    syntax: "proto3",
    dependency: ["google/protobuf/timestamp.proto", "google/protobuf/duration.proto", "google/protobuf/field_mask.proto", "google/protobuf/empty.proto", "google/protobuf/wrappers.proto", "google/protobuf/any.proto", "google/protobuf/struct.proto"],
    enumType: [color],
    messageType: [
      message({ name: "Scalars", fields: [...scalars(1), { name: "color", number: 20, type: `${V3}.Color`, kind: "enum" }] }),
      message({ name: "Optionals", fields: [...scalars(1, { proto3Optional: true }), { name: "color", number: 20, type: `${V3}.Color`, kind: "enum", proto3Optional: true }, { name: "child", number: 21, type: `${V3}.Scalars`, kind: "message", proto3Optional: true }] }),
      message({
        name: "Repeats",
        fields: [
          ...scalars(1, { label: "repeated" }),
          ...(["int32", "sint64", "fixed32", "double", "bool", "uint64"] as const).map((type, i): FieldSpec => ({ name: `unpacked_${type}`, number: 30 + i, type, label: "repeated", options: { packed: false } })),
          { name: "colors", number: 40, type: `${V3}.Color`, kind: "enum", label: "repeated" },
          { name: "children", number: 41, type: `${V3}.Scalars`, kind: "message", label: "repeated" },
        ],
      }),
      message({ name: "Maps", fields: [...maps, ...extraMaps].map((m) => m.field), nested: [...maps, ...extraMaps].map((m) => m.entry) }),
      message({ name: "Oneofs", fields: [...oneofMembers, { name: "after", number: 12, type: "int32" }] }),
      message({
        name: "Recursive",
        fields: [
          { name: "child", number: 1, type: `${V3}.Recursive`, kind: "message" },
          { name: "children", number: 2, type: `${V3}.Recursive`, kind: "message", label: "repeated" },
          { name: "value", number: 3, type: "int32" },
        ],
      }),
      message({
        name: "Longs",
        fields: (["int64", "uint64", "sint64", "fixed64", "sfixed64"] as const).flatMap((type, i): FieldSpec[] => [
          { name: `s_${type}`, number: i * 4 + 1, type, options: { jstype: "JS_STRING" } },
          { name: `r_${type}`, number: i * 4 + 2, type, label: "repeated", options: { jstype: "JS_STRING" } },
          { name: `o_${type}`, number: i * 4 + 3, type, proto3Optional: true, options: { jstype: "JS_STRING" } },
          { name: `n_${type}`, number: i * 4 + 4, type, options: { jstype: "JS_NUMBER" } },
        ]),
      }),
      message({
        name: "Wkts",
        fields: [
          { name: "ts", number: 1, type: ".google.protobuf.Timestamp", kind: "message" },
          { name: "dur", number: 2, type: ".google.protobuf.Duration", kind: "message" },
          { name: "mask", number: 3, type: ".google.protobuf.FieldMask", kind: "message" },
          { name: "empty", number: 4, type: ".google.protobuf.Empty", kind: "message" },
          { name: "stamps", number: 5, type: ".google.protobuf.Timestamp", kind: "message", label: "repeated" },
          { name: "flags", number: 6, type: ".google.protobuf.BoolValue", kind: "message", label: "repeated" },
          { name: "text", number: 7, type: ".google.protobuf.StringValue", kind: "message", oneof: "w" },
          { name: "blob", number: 8, type: ".google.protobuf.BytesValue", kind: "message", oneof: "w" },
          { name: "big", number: 9, type: ".google.protobuf.UInt64Value", kind: "message", oneof: "w" },
        ],
      }),
      message({
        name: "Names",
        fields: [
          { name: "constructor", number: 1, type: "int32" },
          { name: "to_string", number: 2, type: "string" },
          { name: "value_of", number: 3, type: "bool" },
          { name: "custom", number: 4, type: "int32", jsonName: "my-Custom name" },
          { name: "quote", number: 5, type: "string", jsonName: 'a"b\\c' },
          { name: "field16", number: 16, type: "int32" },
          { name: "field2048", number: 2048, type: "string" },
          { name: "field_max", number: 536870911, type: "sint32" },
        ],
      }),
      message({ name: "NoFields", fields: [] }),
      // JSON names that JSON.stringify orders first, and JSON names that collide with each other and
      // with proto names (protoc would refuse these; protobuf-es takes them).
      message({ name: "IntJsonName", fields: [{ name: "b", number: 1, type: "string" }, { name: "a", number: 2, type: "int32", jsonName: "123" }, { name: "c", number: 3, type: "int32", jsonName: "7" }] }),
      message({ name: "Collide", fields: [{ name: "a", number: 1, type: "int32", jsonName: "x" }, { name: "b", number: 2, type: "int32", jsonName: "x" }, { name: "x", number: 3, type: "int32" }, { name: "y", number: 4, type: "string", jsonName: "a" }] }),
      // Delegated: JSON of Any and NullValue; both formats for Struct fields and unwrapped wrapper
      // fields, and for a parent of such a message.
      message({ name: "WithAny", fields: [{ name: "any", number: 1, type: ".google.protobuf.Any", kind: "message" }, { name: "n", number: 2, type: "int32" }] }),
      message({ name: "WithNull", fields: [{ name: "null", number: 1, type: ".google.protobuf.NullValue", kind: "enum" }, { name: "n", number: 2, type: "int32" }] }),
      message({ name: "WithStruct", fields: [{ name: "s", number: 1, type: ".google.protobuf.Struct", kind: "message" }, { name: "v", number: 2, type: ".google.protobuf.Value", kind: "message" }] }),
      message({ name: "WithWrapper", fields: [{ name: "w", number: 1, type: ".google.protobuf.Int32Value", kind: "message" }, { name: "s", number: 2, type: "string" }] }),
      message({ name: "ParentOfWrapper", fields: [{ name: "child", number: 1, type: `${V3}.WithWrapper`, kind: "message" }] }),
    ],
  };
}

const V2 = ".codec.test.v2";

function proto2(): JsonObject {
  const closed = enumType("Closed", [["CLOSED_A", 1], ["CLOSED_B", 2], ["CLOSED_NEG", -1]]);
  const defaults: Partial<Record<Scalar, string>> = {
    double: "nan", float: "-inf", int64: "-9000000000", uint64: "18446744073709551615", int32: "-42", fixed64: "7", fixed32: "4294967295",
    bool: "true", string: 'he said "hi"\n', bytes: "\\001abc\\377", uint32: "12", sfixed32: "-5", sfixed64: "-6", sint32: "-7", sint64: "8",
  };
  const withDefaults = Object.entries(defaults).map(([type, value], i): FieldSpec => ({ name: `d_${type}`, number: 1 + i, type: type as Scalar, defaultValue: value }));
  const plain = ["int32", "string", "bytes", "double", "uint64"].map((type, i): FieldSpec => ({ name: `p_${type}`, number: 20 + i, type: type as Scalar }));
  const closedMap = mapField(`${V2}.Proto2`, "closed_map", 40, "int32", `${V2}.Closed`, "enum");
  return {
    name: "codec/test/v2.proto",
    package: "codec.test.v2",
    syntax: "proto2",
    enumType: [closed],
    messageType: [
      message({
        name: "Proto2",
        fields: [
          ...withDefaults,
          ...plain,
          { name: "e", number: 30, type: `${V2}.Closed`, kind: "enum" },
          { name: "e_default", number: 31, type: `${V2}.Closed`, kind: "enum", defaultValue: "CLOSED_B" },
          { name: "e_list", number: 32, type: `${V2}.Closed`, kind: "enum", label: "repeated" },
          { name: "e_oneof", number: 33, type: `${V2}.Closed`, kind: "enum", oneof: "o" },
          { name: "s_oneof", number: 34, type: "string", oneof: "o" },
          { name: "unpacked", number: 35, type: "int32", label: "repeated" },
          { name: "packed", number: 36, type: "sint32", label: "repeated", options: { packed: true } },
          { name: "child", number: 37, type: `${V2}.Proto2`, kind: "message" },
          { name: "strings", number: 38, type: "string", label: "repeated" },
          closedMap.field,
        ],
        nested: [closedMap.entry],
        extensionRanges: [[100, 200]],
      }),
      message({ name: "Required", fields: [{ name: "id", number: 1, type: "int32", label: "required" }, { name: "name", number: 2, type: "string", label: "required" }, { name: "note", number: 3, type: "string" }] }),
      message({
        name: "WithGroup",
        fields: [{ name: "mygroup", number: 1, type: `${V2}.WithGroup.MyGroup`, kind: "group" }, { name: "n", number: 3, type: "int32" }],
        nested: [message({ name: "MyGroup", fields: [{ name: "a", number: 2, type: "int32" }] })],
      }),
    ],
    extension: [{ name: "ext_value", number: 100, label: "LABEL_OPTIONAL", type: "TYPE_STRING", extendee: `${V2}.Proto2`, jsonName: "extValue" }],
  };
}

const ED = ".codec.test.ed";

function editions(): JsonObject {
  const closedEnum = enumType("ClosedEd", [["CLOSED_ED_X", 5], ["CLOSED_ED_Y", 6]], { features: { enumType: "CLOSED" } });
  const openEnum = enumType("OpenEd", [["OPEN_ED_ZERO", 0], ["OPEN_ED_ONE", 1]]);
  return {
    name: "codec/test/editions.proto",
    package: "codec.test.ed",
    syntax: "editions",
    edition: "EDITION_2023",
    enumType: [closedEnum, openEnum],
    messageType: [
      message({
        name: "Ed",
        fields: [
          { name: "explicit_int", number: 1, type: "int32" },
          { name: "implicit_int", number: 2, type: "int32", options: { features: { fieldPresence: "IMPLICIT" } } },
          { name: "unchecked", number: 3, type: "string", options: { features: { utf8Validation: "NONE" } } },
          { name: "expanded", number: 4, type: "int32", label: "repeated", options: { features: { repeatedFieldEncoding: "EXPANDED" } } },
          { name: "closed", number: 5, type: `${ED}.ClosedEd`, kind: "enum" },
          { name: "required_int", number: 6, type: "int32", options: { features: { fieldPresence: "LEGACY_REQUIRED" } } },
          { name: "with_default", number: 7, type: "int32", defaultValue: "7" },
          { name: "open", number: 8, type: `${ED}.OpenEd`, kind: "enum", options: { features: { fieldPresence: "IMPLICIT" } } },
          { name: "packed", number: 9, type: "fixed32", label: "repeated" },
          { name: "child", number: 10, type: `${ED}.Ed`, kind: "message" },
          { name: "implicit_text", number: 11, type: "string", options: { features: { fieldPresence: "IMPLICIT" } } },
        ],
      }),
      message({ name: "EdImplicitOnly", fields: [{ name: "a", number: 1, type: "int32", options: { features: { fieldPresence: "IMPLICIT" } } }, { name: "b", number: 2, type: "bytes", options: { features: { fieldPresence: "IMPLICIT" } } }] }),
      message({ name: "EdDelimited", fields: [{ name: "child", number: 1, type: `${ED}.EdImplicitOnly`, kind: "message", options: { features: { messageEncoding: "DELIMITED" } } }] }),
    ],
  };
}

/** The three coverage files: proto3, proto2 and editions 2023. */
export function coverageFiles(): DescFile[] {
  return [proto3(), proto2(), editions()].map((json) => {
    const registry = fileRegistry(json);
    return registry.getFile(json.name as string)!;
  });
}

/** The registry of the proto2 file, which holds an extension (for the registry option). */
export function proto2Registry(): ReturnType<typeof fileRegistry> {
  return fileRegistry(proto2());
}
