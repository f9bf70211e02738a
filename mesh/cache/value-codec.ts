// How both caches turn values into stored bytes and back: the compiled codec (mesh/codec), which gives
// protobuf-es's bytes and messages several times faster; every hit decodes a message of its own.

import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { compileCodec } from "../codec/index.ts";

/** `value`'s binary encoding in an ArrayBuffer of its own (a cached entry must not pin a pooled slab). */
export function encodeValue<Desc extends DescMessage>(schema: Desc, value: MessageShape<Desc>): Uint8Array {
  return new Uint8Array(compileCodec(schema).toBinary(value));
}

/** A new message decoded from cached `bytes`. */
export function decodeValue<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): MessageShape<Desc> {
  return compileCodec(schema).fromBinary(bytes);
}
