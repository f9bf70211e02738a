// Compiled protobuf codecs: per-schema generated binary and JSON codecs with exactly protobuf-es's
// results, falling back to protobuf-es for what is not compiled.

export { compileCodec } from "./compile-codec.ts";
export type { CodecOptions, FormatMode, MessageCodec } from "./compile-codec.ts";
export { holdsBytes, planCodec } from "./codec-plan.ts";
export type { CodecPlan } from "./codec-plan.ts";
/** The binary read primitives generated decoders call, for hand-built readers (bench/codec compares them). */
export { createReadState, readString, readVarint32, skipField } from "./runtime-binary-read.ts";
export type { ReadState } from "./runtime-binary-read.ts";
export { compileClone } from "./compile-clone.ts";
export type { MessageCloner } from "./compile-clone.ts";
