// Prints a file descriptor (protobuf-es DescFile) as .proto source, for imports that npm packages ship
// only as embedded descriptors (buf/validate/validate.proto in @bufbuild/protovalidate). It covers what
// proto2 and proto3 files declare (messages, enums, oneofs, extensions, reserved and extension ranges,
// options with extension values) and throws on anything else (maps, groups, services, editions), so a
// descriptor it cannot print faithfully stops the build instead of producing a different contract.
import { createRegistry, getExtension, hasExtension, isFieldSet, type DescExtension, type DescField, type DescFile, type DescMessage, type Message, type Registry } from "@bufbuild/protobuf";
import { toText } from "@bufbuild/protobuf/txtpb";
import {
  EnumOptionsSchema,
  EnumValueOptionsSchema,
  ExtensionRangeOptionsSchema,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
  FileOptionsSchema,
  MessageOptionsSchema,
  OneofOptionsSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type OneofDescriptorProto,
} from "@bufbuild/protobuf/wkt";

const MAX_FIELD_NUMBER_EXCLUSIVE = 536870912;

const OPTION_SCHEMAS = new Map<string, DescMessage>(
  [FileOptionsSchema, MessageOptionsSchema, FieldOptionsSchema, OneofOptionsSchema, EnumOptionsSchema, EnumValueOptionsSchema, ExtensionRangeOptionsSchema].map((s) => [s.typeName, s]),
);

const SCALAR_NAMES: Partial<Record<FieldDescriptorProto_Type, string>> = {
  [FieldDescriptorProto_Type.DOUBLE]: "double",
  [FieldDescriptorProto_Type.FLOAT]: "float",
  [FieldDescriptorProto_Type.INT64]: "int64",
  [FieldDescriptorProto_Type.UINT64]: "uint64",
  [FieldDescriptorProto_Type.INT32]: "int32",
  [FieldDescriptorProto_Type.FIXED64]: "fixed64",
  [FieldDescriptorProto_Type.FIXED32]: "fixed32",
  [FieldDescriptorProto_Type.BOOL]: "bool",
  [FieldDescriptorProto_Type.STRING]: "string",
  [FieldDescriptorProto_Type.BYTES]: "bytes",
  [FieldDescriptorProto_Type.UINT32]: "uint32",
  [FieldDescriptorProto_Type.SFIXED32]: "sfixed32",
  [FieldDescriptorProto_Type.SFIXED64]: "sfixed64",
  [FieldDescriptorProto_Type.SINT32]: "sint32",
  [FieldDescriptorProto_Type.SINT64]: "sint64",
};

/** A string literal valid in .proto and text format: UTF-8 kept, quotes, backslashes and controls escaped. */
function quote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\${c.toString(8).padStart(3, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** One option's value in .proto syntax: scalars as literals, messages as a text-format aggregate. */
function optionValue(field: DescField | DescExtension, value: unknown, indent: string, registry: Registry): string {
  if (field.fieldKind === "message") {
    const body = toText(field.message, value as Message, { registry }).trimEnd();
    if (body === "") return "{}";
    return `{\n${body.split("\n").map((line) => `${indent}  ${line}`).join("\n")}\n${indent}}`;
  }
  if (field.fieldKind === "enum") return field.enum.values.find((v) => v.number === value)?.name ?? String(value);
  if (field.fieldKind !== "scalar") throw new Error(`cannot print option ${field.name}: repeated options are not supported`);
  if (typeof value === "string") return quote(value);
  if (value instanceof Uint8Array) throw new Error(`cannot print option ${field.name}: bytes options are not supported`);
  return String(value);
}

/** The options set on `options` (an *Options message), standard fields by name, extensions in parentheses. */
function optionList(p: Printer, options: Message | undefined, indent: string): string[] {
  if (options === undefined) return [];
  const schema = OPTION_SCHEMAS.get(options.$typeName);
  if (schema === undefined) throw new Error(`cannot print options of type ${options.$typeName}`);
  const out: string[] = [];
  for (const field of schema.fields) {
    if (!isFieldSet(options, field)) continue;
    out.push(`${field.name} = ${optionValue(field, (options as unknown as Record<string, unknown>)[field.localName], indent, p.registry)}`);
  }
  for (const ext of p.extensions) {
    if (ext.extendee.typeName !== schema.typeName || !hasExtension(options, ext)) continue;
    out.push(`(${ext.typeName}) = ${optionValue(ext, getExtension(options, ext), indent, p.registry)}`);
  }
  return out;
}

function allDependencies(file: DescFile): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    for (const d of f.dependencies) if (!seen.has(d.name)) (seen.set(d.name, d), visit(d));
  };
  visit(file);
  return [...seen.values()];
}

function bracketed(list: string[]): string {
  return list.length === 0 ? "" : ` [${list.join(", ")}]`;
}

/** protoc's default json_name: lowerCamelCase of the field name (underscores dropped, next letter upper-cased). */
function defaultJsonName(name: string): string {
  return name.replace(/_+([a-z0-9]?)/g, (_, c: string) => c.toUpperCase());
}

function typeOf(f: FieldDescriptorProto): string {
  const scalar = SCALAR_NAMES[f.type];
  if (scalar !== undefined) return scalar;
  if (f.type === FieldDescriptorProto_Type.MESSAGE || f.type === FieldDescriptorProto_Type.ENUM) return f.typeName;
  throw new Error(`cannot print field ${f.name}: type ${FieldDescriptorProto_Type[f.type]} (groups) is not supported`);
}

interface Printer {
  readonly proto2: boolean;
  readonly registry: Registry;
  readonly extensions: readonly DescExtension[];
  readonly lines: string[];
}

function fieldLine(p: Printer, f: FieldDescriptorProto, indent: string, inOneof: boolean): string {
  let label = "";
  if (!inOneof) {
    if (f.label === FieldDescriptorProto_Label.REPEATED) label = "repeated ";
    else if (f.label === FieldDescriptorProto_Label.REQUIRED) label = "required ";
    else if (p.proto2 || f.proto3Optional) label = "optional ";
  }
  const opts: string[] = [];
  if (isFieldSet(f, FieldDescriptorProtoSchema.field.defaultValue)) {
    opts.push(`default = ${f.type === FieldDescriptorProto_Type.STRING ? quote(f.defaultValue) : f.defaultValue}`);
  }
  if (isFieldSet(f, FieldDescriptorProtoSchema.field.jsonName) && f.jsonName !== defaultJsonName(f.name)) opts.push(`json_name = ${quote(f.jsonName)}`);
  opts.push(...optionList(p, f.options, indent));
  return `${indent}${label}${typeOf(f)} ${f.name} = ${f.number}${bracketed(opts)};`;
}

function printEnum(p: Printer, e: EnumDescriptorProto, indent: string): void {
  p.lines.push(`${indent}enum ${e.name} {`);
  for (const o of optionList(p, e.options, indent + "  ")) p.lines.push(`${indent}  option ${o};`);
  for (const v of e.value) p.lines.push(`${indent}  ${v.name} = ${v.number}${bracketed(optionList(p, v.options, indent + "  "))};`);
  for (const r of e.reservedRange) p.lines.push(`${indent}  reserved ${r.start === r.end ? r.start : `${r.start} to ${r.end}`};`);
  for (const n of e.reservedName) p.lines.push(`${indent}  reserved ${quote(n)};`);
  p.lines.push(`${indent}}`);
}

function printExtensions(p: Printer, fields: readonly FieldDescriptorProto[], indent: string): void {
  const byExtendee = new Map<string, FieldDescriptorProto[]>();
  for (const f of fields) byExtendee.set(f.extendee, [...(byExtendee.get(f.extendee) ?? []), f]);
  for (const [extendee, list] of byExtendee) {
    p.lines.push(`${indent}extend ${extendee} {`);
    for (const f of list) p.lines.push(fieldLine(p, f, indent + "  ", false));
    p.lines.push(`${indent}}`);
  }
}

function printMessage(p: Printer, m: DescriptorProto, indent: string): void {
  if (m.options?.mapEntry === true) throw new Error(`cannot print ${m.name}: map fields are not supported`);
  const inner = indent + "  ";
  p.lines.push(`${indent}message ${m.name} {`);
  for (const o of optionList(p, m.options, inner)) p.lines.push(`${inner}option ${o};`);
  const oneofs = new Map<number, FieldDescriptorProto[]>();
  for (const f of m.field) {
    if (!isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex) || f.proto3Optional) {
      p.lines.push(fieldLine(p, f, inner, false));
      continue;
    }
    let list = oneofs.get(f.oneofIndex);
    if (list === undefined) {
      oneofs.set(f.oneofIndex, (list = []));
      printOneof(p, m.oneofDecl[f.oneofIndex], m.field.filter((g) => isFieldSet(g, FieldDescriptorProtoSchema.field.oneofIndex) && g.oneofIndex === f.oneofIndex && !g.proto3Optional), inner);
    }
  }
  for (const n of m.nestedType) printMessage(p, n, inner);
  for (const e of m.enumType) printEnum(p, e, inner);
  printExtensions(p, m.extension, inner);
  for (const r of m.extensionRange) {
    const end = r.end === MAX_FIELD_NUMBER_EXCLUSIVE ? "max" : String(r.end - 1);
    p.lines.push(`${inner}extensions ${r.start === r.end - 1 ? r.start : `${r.start} to ${end}`}${bracketed(optionList(p, r.options, inner))};`);
  }
  for (const r of m.reservedRange) p.lines.push(`${inner}reserved ${r.start === r.end - 1 ? r.start : `${r.start} to ${r.end - 1}`};`);
  for (const n of m.reservedName) p.lines.push(`${inner}reserved ${quote(n)};`);
  p.lines.push(`${indent}}`);
}

function printOneof(p: Printer, o: OneofDescriptorProto, fields: FieldDescriptorProto[], indent: string): void {
  p.lines.push(`${indent}oneof ${o.name} {`);
  for (const opt of optionList(p, o.options, indent + "  ")) p.lines.push(`${indent}  option ${opt};`);
  for (const f of fields) p.lines.push(fieldLine(p, f, indent + "  ", true));
  p.lines.push(`${indent}}`);
}

/**
 * The .proto source of `file` (its embedded descriptor, with the imports protobuf-es strips restored
 * from its dependencies). `header` is written first, as comment lines.
 */
export function printProtoSource(file: DescFile, header: readonly string[]): string {
  const proto = file.proto;
  if (proto.service.length > 0) throw new Error(`cannot print ${file.name}.proto: services are not supported`);
  if (proto.syntax === "editions") throw new Error(`cannot print ${file.name}.proto: editions are not supported`);
  const proto2 = proto.syntax === "" || proto.syntax === "proto2";
  // Extensions declared in the file and its imports, for options that use them.
  const registry = createRegistry(file, ...allDependencies(file));
  const extensions = [...registry].filter((d): d is DescExtension => d.kind === "extension");
  const p: Printer = { proto2, registry, extensions, lines: header.map((line) => `// ${line}`) };
  p.lines.push(`syntax = "${proto2 ? "proto2" : "proto3"}";`, "", `package ${proto.package};`, "");
  for (const d of file.dependencies) p.lines.push(`import "${d.name}.proto";`);
  p.lines.push("");
  for (const o of optionList(p, proto.options, "")) p.lines.push(`option ${o};`);
  p.lines.push("");
  printExtensions(p, proto.extension, "");
  for (const m of proto.messageType) printMessage(p, m, "");
  for (const e of proto.enumType) printEnum(p, e, "");
  return `${p.lines.join("\n")}\n`;
}
