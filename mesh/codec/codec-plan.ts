// Decides, per root schema and per format, whether the compiled codec can reproduce protobuf-es
// exactly or the whole message must be delegated to protobuf-es. A format is delegated when any
// message reachable from the root uses something the generators do not implement; the reason names
// the first such message and feature.

import { hasCustomJsonRepresentation, isWrapperDesc } from "@bufbuild/protobuf/wkt";
import { ScalarType, type DescField, type DescMessage, type Registry } from "@bufbuild/protobuf";

/** Per format: undefined when compiled, otherwise why protobuf-es's own function is used. */
export interface CodecPlan {
  readonly binary: string | undefined;
  readonly json: string | undefined;
}

const LEAF_WKT = new Set(["google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"]);

/**
 * Well-known types whose custom JSON form the compiled JSON codecs leave to protobuf-es field by field:
 * they nest no other message, so handing them over changes neither results nor the recursion limit.
 */
export function isLeafWkt(desc: DescMessage): boolean {
  return LEAF_WKT.has(desc.typeName) || isWrapperDesc(desc);
}

/** Names that would hit Object.prototype's __proto__ accessor instead of making a property. */
function touchesProto(desc: DescMessage): boolean {
  return desc.fields.some((f) => f.localName === "__proto__" || f.name === "__proto__" || f.jsonName === "__proto__") || desc.oneofs.some((o) => o.localName === "__proto__");
}

/** Fields whose local value is not the message itself (protobuf-es's localMessageMapper). */
function localFormProblem(field: DescField): string | undefined {
  if (!field.message) return undefined;
  if (field.message.typeName === "google.protobuf.Struct" && field.parent.typeName !== "google.protobuf.Value") {
    return `field ${field.name} holds google.protobuf.Struct as a JSON object`;
  }
  if (field.fieldKind === "message" && !field.oneof && isWrapperDesc(field.message)) return `field ${field.name} holds an unwrapped wrapper value`;
  return undefined;
}

function binaryProblem(desc: DescMessage): string | undefined {
  if (touchesProto(desc)) return "a name is __proto__";
  for (const field of desc.fields) {
    const local = localFormProblem(field);
    if (local !== undefined) return local;
    const delimited = field.fieldKind === "message" ? field.delimitedEncoding : field.fieldKind === "list" && field.listKind === "message" && field.delimitedEncoding;
    if (delimited) return `field ${field.name} uses the delimited (group) encoding`;
  }
  return undefined;
}

function jsonProblem(desc: DescMessage): string | undefined {
  if (touchesProto(desc)) return "a name is __proto__";
  for (const field of desc.fields) {
    const local = localFormProblem(field);
    if (local !== undefined) return local;
    if (field.enum?.typeName === "google.protobuf.NullValue") return `field ${field.name} is a google.protobuf.NullValue`;
    if (field.message && hasCustomJsonRepresentation(field.message) && !isLeafWkt(field.message)) {
      return `field ${field.name} is a ${field.message.typeName}`;
    }
  }
  return undefined;
}

/** The first problem found in the messages reachable from `root`, not descending into `stop` types. */
function firstProblem(root: DescMessage, problem: (d: DescMessage) => string | undefined, stop: (d: DescMessage) => boolean): string | undefined {
  const seen = new Set<DescMessage>([root]);
  const queue = [root];
  while (queue.length > 0) {
    const desc = queue.shift()!;
    const found = problem(desc);
    if (found !== undefined) return `${desc.typeName}: ${found}`;
    for (const field of desc.fields) {
      const child = field.message;
      if (child !== undefined && !seen.has(child) && !stop(child)) {
        seen.add(child);
        queue.push(child);
      }
    }
  }
  return undefined;
}

/** True if the registry holds any extension: protobuf-es's JSON codecs then consult it per key. */
function hasExtensions(registry: Registry): boolean {
  for (const type of registry) if (type.kind === "extension") return true;
  return false;
}

/** Decides what to compile for `root`. A registry is consulted once, here. */
export function planCodec(root: DescMessage, registry: Registry | undefined): CodecPlan {
  const binary = firstProblem(root, binaryProblem, () => false);
  let json: string | undefined;
  if (hasCustomJsonRepresentation(root)) json = `${root.typeName} has a custom JSON form`;
  else if (registry !== undefined && hasExtensions(registry)) json = "the registry holds extensions";
  else json = firstProblem(root, jsonProblem, isLeafWkt);
  return { binary, json };
}

function cloneProblem(desc: DescMessage): string | undefined {
  if (touchesProto(desc)) return "a name is __proto__";
  for (const field of desc.fields) {
    const local = localFormProblem(field);
    if (local !== undefined) return local;
    if (field.fieldKind === "map") return `field ${field.name} is a map`;
    if (field.fieldKind === "scalar" || field.fieldKind === "list") {
      if ((field as { longAsString?: boolean }).longAsString === true) return `field ${field.name} holds 64-bit integers as strings`;
    }
  }
  return undefined;
}

/** True when a message of `root` can hold a bytes field, at any depth: decoded bytes are views of their input. */
export function holdsBytes(root: DescMessage): boolean {
  // A scalar, list or map field's `scalar` is its (value) type; the walk follows message fields.
  const bytesField = (desc: DescMessage) => (desc.fields.some((f) => (f as { scalar?: ScalarType }).scalar === ScalarType.BYTES) ? "bytes" : undefined);
  return firstProblem(root, bytesField, () => false) !== undefined;
}

/** Whether compileClone can copy `root` itself (undefined) or hands it to protobuf-es's clone, and why. */
export function planClone(root: DescMessage): string | undefined {
  return firstProblem(root, cloneProblem, () => false);
}
