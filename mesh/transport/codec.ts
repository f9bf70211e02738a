// Per-method client codecs and header helpers, prepared once per method and cached.

import { create } from "@bufbuild/protobuf";
import type { DescMethod } from "@bufbuild/protobuf";
import type { JsonCodecOptions } from "../protocol/index.ts";
import { compileCodec } from "../codec/index.ts";

/** How one method's messages go on and come off the wire. */
export interface ClientCodec {
  readonly path: string;
  readonly serialize: (message: any) => Uint8Array;
  readonly parse: (bytes: Uint8Array) => any;
  readonly normalizeInput: (init: any) => any;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A codec cache per transport (binary or JSON). */
export function createCodecCache(binary: boolean, pathPrefix: string, json: JsonCodecOptions): (method: DescMethod) => ClientCodec {
  const cache = new WeakMap<DescMethod, ClientCodec>();
  const readOpts = { registry: json.registry, ignoreUnknownFields: json.ignoreUnknownFields ?? true };
  const writeOpts = { registry: json.registry };
  return (method) => {
    let c = cache.get(method);
    if (c === undefined) {
      const { input, output } = method;
      const typeName = input.typeName;
      // Compiled codecs (mesh/codec): protobuf-es's results, several times faster.
      const writer = compileCodec(input, writeOpts);
      const reader = compileCodec(output, readOpts);
      c = {
        path: `${pathPrefix}/${method.parent.typeName}/${method.name}`,
        serialize: binary ? (m) => writer.toBinary(m) : (m) => Buffer.from(writer.toJsonString(m)),
        parse: binary ? (b) => reader.fromBinary(b) : (b) => reader.fromJsonString(utf8.decode(b)),
        normalizeInput: (v) => (v !== null && typeof v === "object" && v.$typeName === typeName ? v : create(input, v)),
      };
      cache.set(method, c);
    }
    return c;
  };
}

/** Copies a HeadersInit into a plain outgoing header object (lower-case names). */
export function headersInto(init: HeadersInit | undefined, out: Record<string, string | string[]>): void {
  if (init === undefined) return;
  if (init instanceof Headers) {
    init.forEach((v, k) => {
      out[k] = v;
    });
  } else if (Array.isArray(init)) {
    for (const [k, v] of init) out[k.toLowerCase()] = v;
  } else {
    for (const k in init as Record<string, string>) out[k.toLowerCase()] = (init as Record<string, string>)[k];
  }
}

/** Raw Node headers to WHATWG Headers (pseudo-headers dropped). */
export function nodeHeadersToHeaders(raw: Record<string, string | string[] | number | undefined> | undefined): Headers {
  const h = new Headers();
  if (raw === undefined) return h;
  for (const k in raw) {
    if (k.charCodeAt(0) === 58) continue;
    const v = raw[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const i of v) h.append(k, i);
    else h.append(k, String(v));
  }
  return h;
}
