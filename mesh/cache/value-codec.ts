// How both caches turn values into stored bytes and back: the compiled codec (mesh/codec), which gives
// protobuf-es's bytes and messages several times faster; every hit decodes a message of its own.

import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { compileCodec, holdsBytes } from "../codec/index.ts";

/** `value`'s binary encoding in an ArrayBuffer of its own (a cached entry must not pin a pooled slab). */
export function encodeValue<Desc extends DescMessage>(schema: Desc, value: MessageShape<Desc>): Uint8Array {
  return new Uint8Array(compileCodec(schema).toBinary(value));
}

/**
 * A new message decoded from cached `bytes`. A decoded bytes field is a view of what it was decoded from,
 * so a schema with bytes fields decodes from a copy: a caller that changes one must not change the cache.
 */
export function decodeValue<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): MessageShape<Desc> {
  return compileCodec(schema).fromBinary(copiesBytes(schema) ? bytes.slice() : bytes);
}

// Walked once per schema.
const holdsBytesBySchema = new WeakMap<DescMessage, boolean>();

function copiesBytes(schema: DescMessage): boolean {
  let known = holdsBytesBySchema.get(schema);
  if (known === undefined) holdsBytesBySchema.set(schema, (known = holdsBytes(schema)));
  return known;
}
