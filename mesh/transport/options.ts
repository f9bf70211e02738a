// Transport options: every field documented with its default, validated once with the field's name.

import type { Interceptor } from "@connectrpc/connect";
import { assertBoolean, assertInt, assertObject, WeftOptionsError } from "../errors/index.ts";
import type { JsonCodecOptions } from "../protocol/index.ts";

/** Options shared by Weft's gRPC (HTTP/2) and Connect (HTTP/1.1) transports. */
export interface WeftTransportOptions {
  /** Where the server is: "http://host:port" or "https://host:port" (a path prefix is allowed). Required. */
  readonly baseUrl: string;
  /** Protobuf binary (true) or JSON (false) on the wire. Default true. */
  readonly binaryFormat?: boolean;
  /** Client interceptors (connect-es `Interceptor`), outermost first. Default none. */
  readonly interceptors?: readonly Interceptor[];
  /** Largest response message accepted, in bytes (after decompression). Default 4 MiB. */
  readonly readMaxBytes?: number;
  /** Largest request message sent, in bytes. Default 4 MiB. */
  readonly writeMaxBytes?: number;
  /** Compress request messages with gzip when they are at least `compressMinBytes`. Default false. */
  readonly sendGzip?: boolean;
  /** Ask the server for gzip responses. Default true. */
  readonly acceptGzip?: boolean;
  /** Minimum message size worth compressing, in bytes. Default 1024. */
  readonly compressMinBytes?: number;
  /** Timeout for calls that do not set one, in ms. Default none. */
  readonly defaultTimeoutMs?: number;
  /** Calls allowed in flight at once on this transport; more wait in a queue. Default 256. */
  readonly maxConcurrentCalls?: number;
  /** Calls allowed to wait for a slot; more fail fast with RESOURCE_EXHAUSTED. Default 10000. */
  readonly maxQueuedCalls?: number;
  /** Close the connection after this long with no call, in ms (0 = never). Default 60000. */
  readonly idleTimeoutMs?: number;
  /** TLS settings for https URLs (PEM strings or buffers). Default: system CAs. */
  readonly tls?: { readonly ca?: string | Buffer; readonly cert?: string | Buffer; readonly key?: string | Buffer; readonly servername?: string; readonly rejectUnauthorized?: boolean };
  /** JSON codec options (registry for Any, ignoreUnknownFields). */
  readonly json?: JsonCodecOptions;
  /** The user-agent header. Default "weft/0.1". */
  readonly userAgent?: string;
  /** HTTP version of the Connect and gRPC-Web transports: "1.1" or "2" (gRPC is always HTTP/2). Default "1.1". */
  readonly httpVersion?: "1.1" | "2";
  /** Connect: call side-effect-free unary methods (NO_SIDE_EFFECTS) with HTTP GET. Default false. */
  readonly useHttpGet?: boolean;
}

/** Options after defaults. */
export interface ResolvedTransportOptions {
  readonly url: URL;
  readonly pathPrefix: string;
  readonly binaryFormat: boolean;
  readonly interceptors: Interceptor[];
  readonly readMaxBytes: number;
  readonly writeMaxBytes: number;
  readonly sendGzip: boolean;
  readonly acceptGzip: boolean;
  readonly compressMinBytes: number;
  readonly defaultTimeoutMs: number | undefined;
  readonly maxConcurrentCalls: number;
  readonly maxQueuedCalls: number;
  readonly idleTimeoutMs: number;
  readonly tls: WeftTransportOptions["tls"];
  readonly json: JsonCodecOptions;
  readonly userAgent: string;
  readonly httpVersion: "1.1" | "2";
  readonly useHttpGet: boolean;
}

const MIB = 1024 * 1024;

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_TRANSPORT_OPTIONS";

function int(name: string, v: number | undefined, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  assertInt(OPTIONS, v, `options.${name}`, min);
  return v;
}

function bool(name: string, v: boolean | undefined, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  assertBoolean(OPTIONS, v, `options.${name}`);
  return v;
}

function httpVersion(v: unknown): "1.1" | "2" {
  if (v === undefined) return "1.1";
  if (v !== "1.1" && v !== "2") throw new WeftOptionsError(OPTIONS, `options.httpVersion must be "1.1" or "2", got ${JSON.stringify(v)}`);
  return v;
}

/** Validates options, filling defaults in one place. Throws naming the bad field. */
export function resolveTransportOptions(o: WeftTransportOptions): ResolvedTransportOptions {
  assertObject(OPTIONS, o, "options");
  if (typeof o.baseUrl !== "string") throw new WeftOptionsError(OPTIONS, "options.baseUrl must be a string such as \"http://127.0.0.1:8080\"");
  let url: URL;
  try {
    url = new URL(o.baseUrl);
  } catch {
    throw new WeftOptionsError(OPTIONS, `options.baseUrl is not a valid URL: ${o.baseUrl}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new WeftOptionsError(OPTIONS, "options.baseUrl must start with http:// or https://");
  if (o.interceptors !== undefined && !Array.isArray(o.interceptors)) throw new WeftOptionsError(OPTIONS, "options.interceptors must be an array");
  if (o.defaultTimeoutMs !== undefined && (!Number.isFinite(o.defaultTimeoutMs) || o.defaultTimeoutMs <= 0)) {
    throw new WeftOptionsError(OPTIONS, "options.defaultTimeoutMs must be a positive number of milliseconds");
  }
  return {
    url,
    pathPrefix: url.pathname.replace(/\/+$/, ""),
    binaryFormat: bool("binaryFormat", o.binaryFormat, true),
    interceptors: [...(o.interceptors ?? [])],
    readMaxBytes: int("readMaxBytes", o.readMaxBytes, 4 * MIB, 1),
    writeMaxBytes: int("writeMaxBytes", o.writeMaxBytes, 4 * MIB, 1),
    sendGzip: bool("sendGzip", o.sendGzip, false),
    acceptGzip: bool("acceptGzip", o.acceptGzip, true),
    compressMinBytes: int("compressMinBytes", o.compressMinBytes, 1024, 0),
    defaultTimeoutMs: o.defaultTimeoutMs,
    maxConcurrentCalls: int("maxConcurrentCalls", o.maxConcurrentCalls, 256, 1),
    maxQueuedCalls: int("maxQueuedCalls", o.maxQueuedCalls, 10_000, 0),
    idleTimeoutMs: int("idleTimeoutMs", o.idleTimeoutMs, 60_000, 0),
    tls: o.tls,
    json: o.json ?? {},
    userAgent: o.userAgent ?? "weft/0.1",
    httpVersion: httpVersion(o.httpVersion),
    useHttpGet: bool("useHttpGet", o.useHttpGet, false),
  };
}
