// A compact way to write FileDescriptorProtos in tests (in their JSON form), for schemas gen/ does not
// have: every scalar type, proto2 defaults and required fields, closed enums, groups, editions
// features, maps of every key type. protoc's conventions are applied by hand: JSON names, map entry
// messages, synthetic oneofs of proto3 optional fields.

import { createFileRegistry, fromJson } from "@bufbuild/protobuf";
import type { DescFile, FileRegistry, JsonObject } from "@bufbuild/protobuf";
import { protoCamelCase } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as wkt from "@bufbuild/protobuf/wkt";

/** Scalar type names as in .proto files. */
export type Scalar = "double" | "float" | "int64" | "uint64" | "int32" | "fixed64" | "fixed32" | "bool" | "string" | "bytes" | "uint32" | "sfixed32" | "sfixed64" | "sint32" | "sint64";

export const SCALARS: readonly Scalar[] = ["double", "float", "int64", "uint64", "int32", "fixed64", "fixed32", "bool", "string", "bytes", "uint32", "sfixed32", "sfixed64", "sint32", "sint64"];

/** Map key types. */
export const MAP_KEYS: readonly Scalar[] = ["int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string"];

/** One field. `type` is a scalar, or a fully qualified type name starting with "." for messages and enums. */
export interface FieldSpec {
  readonly name: string;
  readonly number: number;
  readonly type: Scalar | `.${string}`;
  readonly kind?: "message" | "enum" | "group";
  readonly label?: "repeated" | "required";
  readonly oneof?: string;
  readonly proto3Optional?: boolean;
  readonly options?: JsonObject;
  readonly defaultValue?: string;
  readonly jsonName?: string;
}

/** A message: fields, and nested messages and enums given as JSON. */
export interface MessageSpec {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  readonly nested?: readonly JsonObject[];
  readonly enums?: readonly JsonObject[];
  readonly options?: JsonObject;
  readonly extensionRanges?: readonly [number, number][];
}

function fieldJson(f: FieldSpec, oneofs: string[]): JsonObject {
  const json: JsonObject = {
    name: f.name,
    number: f.number,
    label: f.label === "repeated" ? "LABEL_REPEATED" : f.label === "required" ? "LABEL_REQUIRED" : "LABEL_OPTIONAL",
    jsonName: f.jsonName ?? protoCamelCase(f.name),
  };
  if (f.type.startsWith(".")) {
    json.type = f.kind === "enum" ? "TYPE_ENUM" : f.kind === "group" ? "TYPE_GROUP" : "TYPE_MESSAGE";
    json.typeName = f.type;
  } else {
    json.type = "TYPE_" + f.type.toUpperCase();
  }
  const oneof = f.proto3Optional ? `_${f.name}` : f.oneof;
  if (oneof !== undefined) {
    if (!oneofs.includes(oneof)) oneofs.push(oneof);
    json.oneofIndex = oneofs.indexOf(oneof);
  }
  if (f.proto3Optional) json.proto3Optional = true;
  if (f.options) json.options = f.options;
  if (f.defaultValue !== undefined) json.defaultValue = f.defaultValue;
  return json;
}

/** The JSON of a DescriptorProto. */
export function message(spec: MessageSpec): JsonObject {
  const oneofs: string[] = [];
  // Real oneofs first, in order of appearance; synthetic ones after (as protoc orders them).
  for (const f of spec.fields) if (f.oneof !== undefined && !oneofs.includes(f.oneof)) oneofs.push(f.oneof);
  const fields = spec.fields.map((f) => fieldJson(f, oneofs));
  const json: JsonObject = { name: spec.name, field: fields };
  if (oneofs.length > 0) json.oneofDecl = oneofs.map((name) => ({ name }));
  if (spec.nested) json.nestedType = [...spec.nested];
  if (spec.enums) json.enumType = [...spec.enums];
  if (spec.options) json.options = spec.options;
  if (spec.extensionRanges) json.extensionRange = spec.extensionRanges.map(([start, end]) => ({ start, end }));
  return json;
}

/** An enum: values as [name, number] pairs. */
export function enumType(name: string, values: [string, number][], options?: JsonObject): JsonObject {
  const json: JsonObject = { name, value: values.map(([n, number]) => ({ name: n, number })) };
  if (options) json.options = options;
  return json;
}

/** A map field and its entry message (to add to the parent's nested messages). */
export function mapField(parent: `.${string}`, name: string, number: number, key: Scalar, value: Scalar | `.${string}`, valueKind?: "message" | "enum"): { field: FieldSpec; entry: JsonObject } {
  const entryName = protoCamelCase(name).replace(/^./, (c) => c.toUpperCase()) + "Entry";
  const entry = message({
    name: entryName,
    fields: [
      { name: "key", number: 1, type: key },
      { name: "value", number: 2, type: value, kind: valueKind },
    ],
    options: { mapEntry: true },
  });
  return { field: { name, number, type: `${parent}.${entryName}`, kind: "message", label: "repeated" }, entry };
}

const DEPENDENCIES: Record<string, DescFile> = {
  "google/protobuf/timestamp.proto": wkt.file_google_protobuf_timestamp,
  "google/protobuf/duration.proto": wkt.file_google_protobuf_duration,
  "google/protobuf/field_mask.proto": wkt.file_google_protobuf_field_mask,
  "google/protobuf/empty.proto": wkt.file_google_protobuf_empty,
  "google/protobuf/wrappers.proto": wkt.file_google_protobuf_wrappers,
  "google/protobuf/any.proto": wkt.file_google_protobuf_any,
  "google/protobuf/struct.proto": wkt.file_google_protobuf_struct,
};

/** A file registry from the JSON of a FileDescriptorProto (imports of well-known types resolved). */
export function fileRegistry(file: JsonObject): FileRegistry {
  const proto = fromJson(FileDescriptorProtoSchema, file);
  return createFileRegistry(proto, (name) => DEPENDENCIES[name]);
}
