// Generates `n<i>()`, which makes an empty message exactly like protobuf-es's `create(schema)`: the
// same own properties in the same order with the same values (zero values of implicit-presence
// fields, fresh lists, maps and oneof groups), and, for messages that track explicit presence through
// the prototype chain (proto2, editions), the very prototype object protobuf-es uses. Decoded messages
// are therefore indistinguishable from protobuf-es's, hidden class included.

import { create } from "@bufbuild/protobuf";
import type { DescMessage } from "@bufbuild/protobuf";
import { str, type ModuleBuilder } from "./module-builder.ts";

/** Schedules the create function of a message; returns its name. */
export function requireCreate(mb: ModuleBuilder, desc: DescMessage): string {
  const name = "n" + mb.messageId(desc);
  return mb.require(name, () => genCreate(mb, desc, name));
}

function genCreate(mb: ModuleBuilder, desc: DescMessage, name: string): string {
  const sample = create(desc) as unknown as Record<string, unknown>;
  const proto = Object.getPrototypeOf(sample) as object;
  const oneofs = new Set(desc.oneofs.map((o) => o.localName));
  const props: [string, string][] = [];
  for (const key of Object.keys(sample)) {
    if (key === "$typeName") continue;
    const value = sample[key];
    let init: string;
    if (oneofs.has(key)) init = "{ case: undefined }";
    else if (Array.isArray(value)) init = "[]";
    else if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) init = "{}";
    else init = mb.literal(value);
    props.push([key, init]);
  }
  const typeName = str(desc.typeName);
  if (proto === Object.prototype) {
    const fields = props.map(([k, v]) => `${str(k)}: ${v}`);
    return `function ${name}() { return { "$typeName": ${typeName}${fields.map((f) => ", " + f).join("")} }; }`;
  }
  const sets = props.map(([k, v]) => `m[${str(k)}] = ${v};`).join(" ");
  return `function ${name}() { const m = Object.create(${mb.constant(proto)}); m.$typeName = ${typeName}; ${sets} return m; }`;
}
