// compileCodec(): binary and JSON codecs specialised to one message schema, generated once and cached
// per schema. Each format is either compiled (generated code that gives exactly protobuf-es's results
// several times faster) or delegated to protobuf-es's own function when the schema uses something the
// generators do not implement (see codec-plan.ts). Callers cannot tell the two apart except by speed
// and by `mode`.

import { fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import type { DescMessage, MessageShape, Registry } from "@bufbuild/protobuf";
import { assertBoolean, assertObject, assertOneOf, WeftOptionsError } from "../errors/index.ts";
import { planCodec } from "./codec-plan.ts";
import { ModuleBuilder, str } from "./module-builder.ts";
import { requireCreate } from "./gen-create.ts";
import { requireDecoder } from "./gen-binary-read.ts";
import { requireEncoder } from "./gen-binary-write.ts";
import { requireJsonReader } from "./gen-json-read.ts";
import { requireJsonWriter } from "./gen-json-write.ts";

const CODE = "WEFT_ERR_PROTOCOL_OPTIONS";

/** Options of compileCodec. */
export interface CodecOptions {
  /** Registry for google.protobuf.Any and extensions in JSON, as protobuf-es's `registry` option. Read once. Default: none. */
  readonly registry?: Registry;
  /** Ignore unknown JSON keys and unknown enum names when parsing JSON (protobuf-es's option). Default: false. */
  readonly ignoreUnknownFields?: boolean;
  /** "auto" compiles what can be compiled; "delegate" always uses protobuf-es (for comparisons). Default: "auto". */
  readonly mode?: "auto" | "delegate";
}

/** How one format of a codec is implemented. */
export type FormatMode = { readonly compiled: true } | { readonly compiled: false; readonly reason: string };

/** Binary and JSON codecs of one message type. All functions throw an Error on invalid input. */
export interface MessageCodec<Desc extends DescMessage> {
  readonly schema: Desc;
  /** Whether each format is compiled or delegated to protobuf-es, and why. */
  readonly mode: { readonly binary: FormatMode; readonly json: FormatMode };
  /** protobuf-es's toBinary, byte for byte. Returns a Buffer of the exact size (small ones share Node's pool). */
  toBinary(message: MessageShape<Desc>): Uint8Array;
  /** protobuf-es's fromBinary: the same message; bytes fields are views of `bytes`, as in protobuf-es. */
  fromBinary(bytes: Uint8Array): MessageShape<Desc>;
  /** protobuf-es's toJsonString with default options, character for character. */
  toJsonString(message: MessageShape<Desc>): string;
  /** protobuf-es's fromJsonString (duplicate keys rejected; unknown keys per `ignoreUnknownFields`). */
  fromJsonString(text: string): MessageShape<Desc>;
}

type Codecs = Pick<MessageCodec<DescMessage>, "toBinary" | "fromBinary" | "toJsonString" | "fromJsonString">;

interface CacheEntry {
  readonly registry: Registry | undefined;
  readonly ignoreUnknownFields: boolean;
  readonly delegate: boolean;
  readonly codec: MessageCodec<DescMessage>;
}

// Codecs are pure functions of (schema, options) and cost a compilation each; one per schema and
// option set for the life of the schema object.
const cache = new WeakMap<DescMessage, CacheEntry[]>();

function validate(options: CodecOptions): void {
  assertObject(CODE, options, "options");
  if (options.ignoreUnknownFields !== undefined) assertBoolean(CODE, options.ignoreUnknownFields, "options.ignoreUnknownFields");
  if (options.mode !== undefined) assertOneOf(CODE, options.mode, "options.mode", ["auto", "delegate"] as const);
  const registry = options.registry as unknown;
  if (registry !== undefined && (registry === null || typeof (registry as Registry).getMessage !== "function")) {
    throw new WeftOptionsError(CODE, "options.registry must be a protobuf-es Registry");
  }
}

/**
 * The codec of `schema`, compiled on first use and cached per schema and options. Works for every
 * schema: what cannot be compiled is delegated to protobuf-es.
 */
export function compileCodec<Desc extends DescMessage>(schema: Desc, options: CodecOptions = {}): MessageCodec<Desc> {
  validate(options);
  const registry = options.registry;
  const ignoreUnknownFields = options.ignoreUnknownFields ?? false;
  const delegate = options.mode === "delegate";
  let entries = cache.get(schema);
  const hit = entries?.find((e) => e.registry === registry && e.ignoreUnknownFields === ignoreUnknownFields && e.delegate === delegate);
  if (hit !== undefined) return hit.codec as unknown as MessageCodec<Desc>;
  const codec = build(schema, registry, ignoreUnknownFields, delegate);
  if (entries === undefined) cache.set(schema, (entries = []));
  entries.push({ registry, ignoreUnknownFields, delegate, codec });
  return codec as unknown as MessageCodec<Desc>;
}

function build(schema: DescMessage, registry: Registry | undefined, ignoreUnknownFields: boolean, delegate: boolean): MessageCodec<DescMessage> {
  const readOptions = { registry, ignoreUnknownFields };
  const writeOptions = registry === undefined ? undefined : { registry };
  const delegated: Codecs = {
    toBinary: (message) => toBinary(schema, message),
    fromBinary: (bytes) => fromBinary(schema, bytes),
    toJsonString: (message) => toJsonString(schema, message, writeOptions),
    fromJsonString: (text) => fromJsonString(schema, text, readOptions),
  };
  const plan = delegate ? { binary: "options.mode is delegate", json: "options.mode is delegate" } : planCodec(schema, registry);
  let compiled: Partial<Codecs> = {};
  let failure: string | undefined;
  if (plan.binary === undefined || plan.json === undefined) {
    try {
      compiled = generate(schema, plan.binary === undefined, plan.json === undefined, ignoreUnknownFields);
    } catch (e) {
      // Code generation unavailable (--disallow-code-generation-from-strings) or a generator bug:
      // protobuf-es still gives the right answers.
      failure = `code generation failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  const binaryReason = failure ?? plan.binary;
  const jsonReason = failure ?? plan.json;
  const useBinary = binaryReason === undefined;
  const useJson = jsonReason === undefined;
  return {
    schema,
    mode: {
      binary: useBinary ? { compiled: true } : { compiled: false, reason: binaryReason },
      json: useJson ? { compiled: true } : { compiled: false, reason: jsonReason },
    },
    toBinary: useBinary ? compiled.toBinary! : delegated.toBinary,
    fromBinary: useBinary ? compiled.fromBinary! : delegated.fromBinary,
    toJsonString: useJson ? compiled.toJsonString! : delegated.toJsonString,
    fromJsonString: useJson ? compiled.fromJsonString! : delegated.fromJsonString,
  };
}

/** Generates and evaluates the module of the requested formats. */
function generate(schema: DescMessage, binary: boolean, json: boolean, ignoreUnknownFields: boolean): Partial<Codecs> {
  const mb = new ModuleBuilder();
  const typeName = str(schema.typeName);
  const create = requireCreate(mb, schema);
  const entries: string[] = [];
  if (binary) {
    const decode = requireDecoder(mb, schema);
    const { size, write } = requireEncoder(mb, schema);
    mb.add(`function fromBinary(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("cannot decode message " + ${typeName} + " from binary: expected a Uint8Array");
  const m = ${create}();
  ${decode}(m, bytes, 0, bytes.length, 1);
  return m;
}
function toBinary(m) {
  const L = [];
  const z = ${size}(m, L);
  const b = bw_allocate(z);
  const p = ${write}(m, b, 0, L, 0);
  if (p !== z) bw_sizeMismatch(z, p);
  return b;
}`);
    entries.push("fromBinary", "toBinary");
  }
  if (json) {
    const read = requireJsonReader(mb, schema);
    const write = requireJsonWriter(mb, schema);
    mb.add(`function fromJsonString(text) {
  // Anything but a string (a Buffer, say) goes to protobuf-es, which lets JSON.parse coerce it.
  if (typeof text !== "string") return K_fromJsonString(text);
  let j;
  try { j = JSON.parse(text); } catch (e) { throw new Error("cannot decode message " + ${typeName} + " from JSON: " + (e instanceof Error ? e.message : String(e)), { cause: e }); }
  const m = ${create}();
  const c = { d: 0, k: 0, ignoreUnknownFields: ${ignoreUnknownFields} };
  ${read}(m, j, c);
  if (c.k !== dk_countMemberNames(text)) dk_duplicateKey(${typeName});
  return m;
}
function toJsonString(m) { return JSON.stringify(${write}(m)); }`);
    mb.constantNamed("K_fromJsonString", (text: string) => fromJsonString(schema, text, { ignoreUnknownFields }));
    entries.push("fromJsonString", "toJsonString");
  }
  return mb.build<Partial<Codecs>>(`{ ${entries.join(", ")} }`);
}
