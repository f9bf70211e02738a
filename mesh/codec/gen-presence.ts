// The presence test shared by the binary and JSON encoders: when protobuf-es writes a singular field
// (to-binary.js and to-json.js decide alike). A oneof member is written when its case is selected; a
// field with explicit presence when it is an own property that is not undefined (the zero values of
// proto2 fields live on the prototype); a field with implicit presence when it is not its type's zero
// value (-0 counts as set). A proto2 required field that is not set throws.

import { ScalarType } from "@bufbuild/protobuf";
import type { DescField } from "@bufbuild/protobuf";
import { str, type ModuleBuilder } from "./module-builder.ts";

/** FeatureSet.FieldPresence values as protobuf-es reports them in `DescField.presence`. */
const IMPLICIT = 2;
const LEGACY_REQUIRED = 3;

/** Code that loads the field's value into `v` and runs `body` if the field is set. */
export function presence(mb: ModuleBuilder, field: DescField, format: "binary" | "JSON", body: string): string {
  const local = str(field.localName);
  if (field.oneof) {
    return `v = m[${str(field.oneof.localName)}]; if (v.case === ${local}) { v = v.value; ${body} }`;
  }
  if (field.presence !== IMPLICIT) {
    const otherwise = field.presence === LEGACY_REQUIRED ? ` else jw_requiredNotSet(${mb.literal(String(field))}, "${format}");` : "";
    return `v = m[${local}]; if (v !== undefined && Object.hasOwn(m, ${local})) { ${body} }${otherwise}`;
  }
  return `v = m[${local}]; if (${isSet(field)}) { ${body} }`;
}

/** The implicit-presence test on `v`: not the zero value of the field's type (protobuf-es's isScalarZeroValue). */
export function isSet(field: DescField): string {
  if (field.fieldKind === "enum") return `v !== ${mb0(field.enum.values[0].number)}`;
  switch (field.scalar) {
    case ScalarType.BOOL:
      return "v !== false";
    case ScalarType.STRING:
      return 'v !== ""';
    case ScalarType.BYTES:
      return "!(v instanceof Uint8Array) || v.byteLength > 0";
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      // +0 is unset, -0 is set (Object.is semantics without the call).
      return "v !== 0 || 1 / v < 0";
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      // protobuf-es compares loosely (0, 0n and "0" are all unset); bigint first, as loose
      // comparison of a bigint with a number is slow.
      return '(typeof v === "bigint" ? v !== 0n : v != 0)';
    default:
      return "v != 0";
  }
}

function mb0(n: number): string {
  return n < 0 ? `(${n})` : String(n);
}
