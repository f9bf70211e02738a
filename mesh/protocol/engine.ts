// Weft's wire engine: serves Connect, gRPC and gRPC-Web from the host's HTTP/2 `stream` event and
// HTTP/1.1 `request` event. Routing, content-type and codec decisions are table lookups prepared at
// attach time; see call.ts for the per-call work.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { ServerHttp2Stream } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { ServerCall } from "./call.ts";
import { classifyContentType, Protocol, RESPONSE_CT } from "./protocols.ts";
import type { CallSettings } from "./call.ts";
import { Invoker } from "./invoke.ts";
import { BodyDeadlines } from "./body-deadlines.ts";
import { ShutdownWatch } from "./shutdown-watch.ts";
import { buildMethodTable } from "./method-table.ts";
import type { JsonCodecOptions, MethodEntry } from "./method-table.ts";
import { H1Wire, H2Wire } from "./wire.ts";
import type { OutHeaders, Wire } from "./wire.ts";
import { unimplementedAnswer, type EngineAttachment, type EngineContext, type EngineServers, type FallbackRoute, type WireEngine } from "../engine/index.ts";
import { WeftOptionsError } from "../errors/index.ts";

/** Options of Weft's engine beyond what the host passes in its EngineContext. */
export interface WeftEngineOptions {
  /** Responses at least this large (bytes) are gzip-compressed when the client accepts gzip. Default 1024. */
  readonly compressMinBytes?: number;
  /** JSON codec options (registry for Any, ignoreUnknownFields). Default: no registry, strict. */
  readonly json?: JsonCodecOptions;
}

function noop(): void {}

/** Builds the engine. */
export function createWeftEngine(options: WeftEngineOptions = {}): WireEngine {
  const compressMinBytes = options.compressMinBytes ?? 1024;
  if (!Number.isInteger(compressMinBytes) || compressMinBytes < 0) {
    throw new WeftOptionsError("WEFT_ERR_PROTOCOL_OPTIONS", "options.compressMinBytes must be a non-negative integer");
  }
  return {
    name: "weft",
    attach(servers: EngineServers, context: EngineContext): EngineAttachment {
      const core = new EngineCore(context, compressMinBytes, options.json ?? {});
      const bodies = core.settings.bodies;
      const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) =>
        core.onStream(stream, headers, rawHeaders);
      const onRequest = (req: IncomingMessage, res: ServerResponse) => core.onRequest(req, res);
      servers.http2.on("stream", onStream);
      servers.http1.on("request", onRequest);
      return {
        detach() {
          servers.http2.off("stream", onStream);
          servers.http1.off("request", onRequest);
          bodies?.stop();
        },
      };
    },
  };
}

/** The attached engine: method table plus settings. */
export class EngineCore {
  readonly table: Map<string, MethodEntry>;
  readonly settings: CallSettings;
  readonly fallback: FallbackRoute | undefined;

  constructor(context: EngineContext, compressMinBytes: number, json: JsonCodecOptions) {
    const { limits } = context;
    this.table = buildMethodTable(context.services, json, limits);
    this.fallback = context.fallback;
    this.settings = {
      interceptors: [...context.interceptors],
      invoker: new Invoker([...context.interceptors]),
      writeMaxBytes: limits.writeMaxBytes,
      maxTimeoutMs: limits.maxTimeoutMs,
      maxDecompressionRatio: limits.maxDecompressionRatio,
      bodies: limits.requestBodyTimeoutMs > 0 ? new BodyDeadlines(limits.requestBodyTimeoutMs) : undefined,
      compressMinBytes,
      cors: context.cors.enabled ? context.cors : undefined,
      shutdown: new ShutdownWatch(context.shutdownSignal),
      logger: context.logger,
      calls: context.calls,
      hooks: context.hooks,
    };
  }

  onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders?: string[]): void {
    stream.on("error", noop);
    const method = headers[":method"] as string;
    const fallback = this.fallback;
    if (fallback !== undefined && method !== "POST" && fallback.matches(method, headers[":path"] as string)) {
      fallback.serveHttp2Stream(stream, headers, rawHeaders);
      return;
    }
    const wire = new H2Wire(stream, headers);
    this.handle(wire, method, headers[":path"] as string, (headers[":authority"] as string | undefined) ?? "localhost");
  }

  onRequest(req: IncomingMessage, res: ServerResponse): void {
    const fallback = this.fallback;
    if (fallback !== undefined && req.method !== "POST" && fallback.matches(req.method ?? "GET", req.url ?? "/")) {
      fallback.serveHttp1(req, res);
      return;
    }
    const wire = new H1Wire(req, res);
    this.handle(wire, req.method ?? "GET", req.url ?? "/", req.headers.host ?? "localhost");
  }

  handle(wire: Wire, method: string, rawPath: string, authority: string): void {
    const headers = wire.headers;
    const q = rawPath.indexOf("?");
    const path = q < 0 ? rawPath : rawPath.slice(0, q);
    if (method === "POST") {
      const ct = headers["content-type"];
      const kind = classifyContentType(ct);
      const entry = this.table.get(path);
      if (kind < 0) {
        if (entry === undefined) this.#unknownRoute(wire, Protocol.connect, path);
        else this.#plain(wire, 415);
        return;
      }
      const protocol = (kind >> 1) as Protocol;
      if (entry === undefined) {
        this.#unknownRoute(wire, protocol, path);
        return;
      }
      if (protocol >= Protocol.connect && (protocol === Protocol.connect) !== (entry.kind === "unary")) {
        // Connect unary content types for streaming methods (and the reverse) are not a valid call.
        this.#plain(wire, 415);
        return;
      }
      const call = new ServerCall(wire, entry, this.settings, protocol, (kind & 1) === 1, RESPONSE_CT[protocol][kind & 1], method, authority);
      call.ctx.path = rawPath;
      call.start();
      return;
    }
    if (method === "OPTIONS" && this.#preflight(wire)) return;
    if (method === "GET") {
      const entry = this.table.get(path);
      if (entry === undefined) {
        this.#unknownRoute(wire, Protocol.connect, path);
        return;
      }
      if (!entry.allowGet || entry.kind !== "unary") {
        this.#plain(wire, 405, { allow: "POST" });
        return;
      }
      this.#get(wire, entry, rawPath.slice(q + 1), q >= 0, authority);
      return;
    }
    this.#plain(wire, this.table.has(path) ? 405 : 404, { allow: "POST" });
  }

  #get(wire: Wire, entry: MethodEntry, query: string, hasQuery: boolean, authority: string): void {
    const params = new URLSearchParams(hasQuery ? query : "");
    const encoding = params.get("encoding");
    const json = encoding === "json";
    if (!json && encoding !== "proto") {
      this.#plain(wire, 415);
      return;
    }
    const call = new ServerCall(wire, entry, this.settings, Protocol.connect, json, json ? "application/json" : "application/proto", "GET", authority);
    call.ctx.path = hasQuery ? `${entry.path}?${query}` : entry.path;
    const compression = params.get("compression");
    const raw = params.get("message") ?? "";
    let message: Buffer;
    try {
      if (compression !== null && compression !== "identity" && compression !== "gzip") {
        throw new ConnectError(`unknown compression "${compression}": supported encodings are gzip, identity`, Code.Unimplemented);
      }
      message = params.get("base64") === "1" ? Buffer.from(raw, "base64url") : Buffer.from(raw, "utf8");
    } catch (e) {
      call.fail(e);
      return;
    }
    call.startGet(message, compression === "gzip");
  }

  #preflight(wire: Wire): boolean {
    const h = wire.headers;
    const origin = h.origin;
    const reqMethod = h["access-control-request-method"];
    if (typeof origin !== "string" || typeof reqMethod !== "string") return false;
    const cors = this.settings.cors;
    if (cors === undefined) {
      wire.respondEmpty(403, { vary: "Origin" });
      return true;
    }
    const reqHeaders = h["access-control-request-headers"];
    const answer = cors.preflight(origin, reqMethod, typeof reqHeaders === "string" ? reqHeaders : undefined);
    wire.respondEmpty(answer.status, { ...answer.headers });
    return true;
  }

  #corsHeaders(wire: Wire, h: OutHeaders): OutHeaders {
    const origin = wire.headers.origin;
    if (origin !== undefined && this.settings.cors !== undefined) Object.assign(h, this.settings.cors.responseHeaders(origin));
    return h;
  }

  #plain(wire: Wire, status: number, extra?: OutHeaders): void {
    wire.respondEmpty(status, this.#corsHeaders(wire, { ...extra }));
  }

  /** Unknown service or method: UNIMPLEMENTED in the protocol's own shape (mesh/engine's one answer). */
  #unknownRoute(wire: Wire, protocol: Protocol, path: string): void {
    const answer = unimplementedAnswer(protocol === Protocol.grpc ? "application/grpc" : protocol === Protocol.grpcWeb ? "application/grpc-web" : undefined, path);
    const h = this.#corsHeaders(wire, answer.headers);
    if (answer.body === undefined) {
      wire.respondEmpty(answer.status, h);
      return;
    }
    wire.respond(answer.status, h, false);
    wire.end(answer.body, undefined);
  }
}
