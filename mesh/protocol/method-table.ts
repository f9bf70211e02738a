// Everything about a method that can be decided once, at start-up: its route, kind, implementation,
// codecs and whether Connect GET is allowed. The engine looks a call up by `:path` in one Map.

import { create } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, DescService, Registry } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { isAscii } from "node:buffer";
import type { ServiceRegistration } from "../engine/index.ts";
import { WeftOptionsError } from "../errors/index.ts";
import { compileCodec, type MessageCodec } from "../codec/index.ts";
import { DEFAULT_MAX_JSON_DEPTH, jsonDeeperThan } from "./json-depth.ts";

/** The four method kinds of protobuf-es v2. */
export type MethodKind = "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";

/** A handler as the user wrote it (connect-es `MethodImpl`), loosely typed for the engine. */
export type AnyImpl = (input: any, context: any) => any;

/** One routable method. */
export interface MethodEntry {
  readonly path: string;
  readonly service: DescService;
  readonly method: DescMethod;
  readonly kind: MethodKind;
  /** Undefined when the service registration left the method out: the call answers UNIMPLEMENTED. */
  readonly impl: AnyImpl | undefined;
  /** True for NO_SIDE_EFFECTS methods: Connect GET is allowed. */
  readonly allowGet: boolean;
  /** Largest request message, binary (bytes, after decompression). */
  readonly readMaxBytes: number;
  /** Largest request message in JSON (bytes, after decompression). */
  readonly jsonReadMaxBytes: number;
  readonly parseBinary: (bytes: Uint8Array) => any;
  readonly parseJson: (bytes: Uint8Array) => any;
  readonly serializeBinary: (message: any) => Uint8Array;
  readonly serializeJson: (message: any) => Uint8Array;
  /** JSON as a string: lets HTTP/1.1 send head and body in one write. */
  readonly serializeJsonText: (message: any) => string;
  /** Turns what a handler returned (a message or an init shape) into a message. */
  readonly normalize: (value: any) => any;
}

/** JSON codec options shared by every method. */
export interface JsonCodecOptions {
  /** Registry for google.protobuf.Any in JSON. */
  readonly registry?: Registry;
  /** Ignore unknown fields when parsing JSON. Default false, like connect-es. */
  readonly ignoreUnknownFields?: boolean;
}

/** Request size limits and the JSON nesting limit, resolved per method by {@link buildMethodTable}. */
export interface ReadLimits {
  readonly readMaxBytes: number;
  /** For JSON requests of methods `methodReadMaxBytes` does not name. */
  readonly jsonReadMaxBytes: number;
  /** "pkg.Service" or "pkg.Service/Method" -> bytes, binary and JSON alike. */
  readonly methodReadMaxBytes: Readonly<Record<string, number>>;
  readonly maxJsonDepth: number;
}

const NO_LIMITS: ReadLimits = {
  readMaxBytes: 0xffffffff,
  jsonReadMaxBytes: 0xffffffff,
  methodReadMaxBytes: {},
  maxJsonDepth: DEFAULT_MAX_JSON_DEPTH,
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Request JSON as a string. ASCII (nearly every request) is decoded with the latin1 fast path, which
 * gives the same string for ASCII bytes; anything else goes through the strict UTF-8 decoder, which
 * rejects invalid UTF-8.
 */
function jsonText(bytes: Uint8Array): string {
  if (bytes.length === 0) return "{}";
  if (isAscii(bytes)) {
    return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)).toString("latin1");
  }
  return utf8.decode(bytes);
}

function makeNormalize(schema: DescMessage): (value: any) => any {
  const typeName = schema.typeName;
  return (value) => (value !== null && typeof value === "object" && value.$typeName === typeName ? value : create(schema, value));
}

/** Builds the route table for a set of services. Throws if two registrations claim the same method. */
export function buildMethodTable(
  services: readonly ServiceRegistration[],
  json: JsonCodecOptions = {},
  limits: ReadLimits = NO_LIMITS,
): Map<string, MethodEntry> {
  const table = new Map<string, MethodEntry>();
  const maxDepth = limits.maxJsonDepth;
  // Compiled codecs (mesh/codec): protobuf-es's results, several times faster; one per message type.
  const readOpts = { registry: json.registry, ignoreUnknownFields: json.ignoreUnknownFields ?? false };
  const writeOpts = { registry: json.registry };
  for (const { service, impl } of services) {
    for (const method of service.methods) {
      const path = `/${service.typeName}/${method.name}`;
      if (table.has(path)) throw new WeftOptionsError("WEFT_ERR_PROTOCOL_OPTIONS", `services: method ${path} is registered twice`);
      const { input, output } = method;
      // Compiled on a method's first call, not at start-up: most methods of a host (reflection, admin)
      // are rarely or never called, and compiling them all added 20-40 ms to listen().
      let reader: MessageCodec<DescMessage> | undefined;
      let writer: MessageCodec<DescMessage> | undefined;
      const read = () => (reader ??= compileCodec(input, readOpts));
      const write = () => (writer ??= compileCodec(output, writeOpts));
      const fn = (impl as Record<string, unknown>)[method.localName];
      const key = `${service.typeName}/${method.name}`;
      const own = limits.methodReadMaxBytes[key] ?? limits.methodReadMaxBytes[service.typeName];
      table.set(path, {
        path,
        service,
        method,
        kind: method.methodKind as MethodKind,
        impl: typeof fn === "function" ? (fn as AnyImpl).bind(impl) : undefined,
        allowGet: method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS,
        readMaxBytes: own ?? limits.readMaxBytes,
        jsonReadMaxBytes: own ?? Math.min(limits.jsonReadMaxBytes, limits.readMaxBytes),
        parseBinary: (bytes) => read().fromBinary(bytes),
        parseJson: (bytes) => {
          // Refused before JSON.parse, whose time grows with the nesting on the main thread.
          if (jsonDeeperThan(bytes, maxDepth)) throw new Error(`JSON nested deeper than ${maxDepth}`);
          return read().fromJsonString(jsonText(bytes));
        },
        serializeBinary: (message) => write().toBinary(message),
        serializeJson: (message) => Buffer.from(write().toJsonString(message)),
        serializeJsonText: (message) => write().toJsonString(message),
        normalize: makeNormalize(output),
      });
    }
  }
  return table;
}
