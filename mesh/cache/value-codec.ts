// How both caches turn values into stored bytes and back: the compiled codec (mesh/codec), which gives
// protobuf-es's bytes and messages several times faster; every hit decodes a message of its own.

import { ScalarType, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { compileCodec } from "../codec/index.ts";

/** `value`'s binary encoding in an ArrayBuffer of its own (a cached entry must not pin a pooled slab). */
export function encodeValue<Desc extends DescMessage>(schema: Desc, value: MessageShape<Desc>): Uint8Array {
  return new Uint8Array(compileCodec(schema).toBinary(value));
}

/**
 * A new message decoded from cached `bytes`. A decoded bytes field is a view of what it was decoded from,
 * so a schema with bytes fields decodes from a copy: a caller that changes one must not change the cache.
 */
export function decodeValue<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): MessageShape<Desc> {
  return compileCodec(schema).fromBinary(holdsBytes(schema) ? bytes.slice() : bytes);
}

const holdsBytesBySchema = new WeakMap<DescMessage, boolean>();

/** True when a message of `schema` can hold a bytes field, at any depth. */
function holdsBytes(schema: DescMessage): boolean {
  let known = holdsBytesBySchema.get(schema);
  if (known === undefined) holdsBytesBySchema.set(schema, (known = reachesBytes(schema, new Set())));
  return known;
}

function reachesBytes(schema: DescMessage, seen: Set<DescMessage>): boolean {
  if (seen.has(schema)) return false; // a cycle: the fields are being walked further up
  seen.add(schema);
  return schema.fields.some((f) => {
    switch (f.fieldKind) {
      case "scalar":
        return f.scalar === ScalarType.BYTES;
      case "list":
        return f.listKind === "scalar" ? f.scalar === ScalarType.BYTES : f.listKind === "message" && reachesBytes(f.message, seen);
      case "map":
        return f.mapKind === "scalar" ? f.scalar === ScalarType.BYTES : f.mapKind === "message" && reachesBytes(f.message, seen);
      case "message":
        return reachesBytes(f.message, seen);
      default:
        return false;
    }
  });
}
