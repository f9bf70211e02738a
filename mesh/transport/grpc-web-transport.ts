// Weft's gRPC-Web client transport, over HTTP/1.1 or HTTP/2: enveloped messages both ways and the
// status in a trailer frame at the end of the response body (or in the headers of a trailers-only answer).

import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ContextValues, StreamResponse, UnaryResponse } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { FLAG_TRAILER, formatGrpcTimeout } from "../protocol/index.ts";
import { createCodecCache, headersInto, nodeHeadersToHeaders } from "./codec.ts";
import { pumpFrames } from "./connect-transport.ts";
import type { WeftTransport } from "./weft-transport.ts";
import { codeFromHttp } from "./grpc-status.ts";
import { createHttp1Opener, createHttp2Opener } from "./http-exchange.ts";
import type { Exchange, ExchangeResponse } from "./http-exchange.ts";
import { interceptTransport } from "./intercept.ts";
import { readFrames } from "./read-frames.ts";
import { resolveTransportOptions } from "./options.ts";
import type { WeftTransportOptions } from "./options.ts";

/** The call's status from a trailer block: undefined for OK, the error otherwise (trailers as its metadata). */
function statusError(trailer: Headers): ConnectError | undefined {
  if (trailer.get("grpc-status") === "0") return undefined;
  return findTrailerError(trailer) ?? new ConnectError("protocol error: missing or invalid grpc-status", Code.Unknown, trailer);
}

/** Creates Weft's gRPC-Web transport (HTTP/1.1 by default, HTTP/2 with `httpVersion: "2"`). */
export function createWeftGrpcWebTransport(options: WeftTransportOptions): WeftTransport {
  const opts = resolveTransportOptions(options);
  const opener = opts.httpVersion === "2" ? createHttp2Opener(opts) : createHttp1Opener(opts);
  const codecOf = createCodecCache(opts.binaryFormat, opts.pathPrefix, opts.json);
  const contentType = opts.binaryFormat ? "application/grpc-web+proto" : "application/grpc-web+json";
  const timeoutOf = (t: number | undefined) => (t !== undefined && t > 0 ? t : opts.defaultTimeoutMs);

  /** Starts a call: sends `input`, resolves once the response head is in (a failed head throws). */
  async function start(method: DescMethodUnary | DescMethodStreaming, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: AsyncIterable<unknown>) {
    const codec = codecOf(method);
    const h: Record<string, string | string[] | number> = {};
    headersInto(header, h as Record<string, string>);
    h["content-type"] = contentType;
    h["x-grpc-web"] = "1";
    h["user-agent"] = opts.userAgent;
    if (opts.acceptGzip) h["grpc-accept-encoding"] = "gzip";
    if (opts.sendGzip) h["grpc-encoding"] = "gzip";
    const timeout = timeoutOf(timeoutMs);
    if (timeout !== undefined) h["grpc-timeout"] = formatGrpcTimeout(timeout);
    const ex = await opener.open("POST", codec.path, h, signal, timeout);
    void pumpFrames(opts, ex, codec, input);
    const res = await ex.response;
    const headers = nodeHeadersToHeaders(res.headers);
    if (res.status !== 200) {
      res.body.resume();
      throw new ConnectError(`HTTP ${res.status}`, codeFromHttp(res.status), headers);
    }
    const ct = /^application\/grpc-web(?:\+(proto|json))?(;|$)/i.exec(res.headers["content-type"] ?? "");
    if (ct === null || (ct[1] ?? "proto").toLowerCase() !== (opts.binaryFormat ? "proto" : "json")) {
      res.body.resume();
      throw new ConnectError(`unexpected response content type ${String(res.headers["content-type"])}`, ct === null ? Code.Unknown : Code.Internal, headers);
    }
    const encoding = res.headers["grpc-encoding"];
    if (encoding !== undefined && encoding !== "gzip" && encoding !== "identity") {
      res.body.destroy();
      throw new ConnectError(`protocol error: unsupported response encoding "${String(encoding)}"`, Code.Internal, headers);
    }
    return { codec, ex, res, headers };
  }

  /** Yields the response messages; `trailer` receives the trailer frame's headers; throws the call's error. */
  async function* messages(ex: Exchange, res: ExchangeResponse, headers: Headers, parse: (b: Uint8Array) => unknown, trailer: Headers): AsyncGenerator<unknown> {
    const gzipped = res.headers["grpc-encoding"] === "gzip";
    let ended = false;
    let bodySeen = false;
    try {
      for await (const f of readFrames(res.body as AsyncIterable<Buffer>, opts.readMaxBytes, gzipped, "grpc-encoding")) {
        bodySeen = true;
        if (ended) throw new ConnectError("protocol error: data after the trailers", Code.Internal);
        if ((f.flags & FLAG_TRAILER) !== 0) {
          ended = true;
          trailerParse(f.data).forEach((v, k) => trailer.append(k, v));
          continue;
        }
        if (ex.failure !== undefined) throw ex.failure;
        try {
          yield parse(f.data);
        } catch (e) {
          throw e instanceof ConnectError ? e : new ConnectError("cannot decode response message", Code.Internal, undefined, undefined, e);
        }
      }
      if (!ended) {
        // No trailer frame: a trailers-only answer (status in the head, empty body), or HTTP/2 trailers.
        const http = res.trailers();
        if (!bodySeen && headers.has("grpc-status")) headers.forEach((v, k) => trailer.append(k, v));
        else if (http !== undefined && http["grpc-status"] !== undefined) nodeHeadersToHeaders(http).forEach((v, k) => trailer.append(k, v));
        else throw new ConnectError("protocol error: missing trailers", Code.Internal);
      }
    } catch (e) {
      const err = ex.failure ?? (e instanceof ConnectError ? e : ConnectError.from(e, Code.Internal));
      ex.abort(err);
      throw err;
    }
    const err = statusError(trailer);
    if (err !== undefined) throw err;
  }

  async function* one(message: unknown): AsyncGenerator<unknown> {
    yield message;
  }

  const raw: WeftTransport = {
    get outstanding() {
      return opener.outstanding;
    },
    close() {
      opener.close();
    },
    refreshConnections() {},
    async unary<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: MessageInitShape<I>, _contextValues?: ContextValues): Promise<UnaryResponse<I, O>> {
      const call = await start(method, signal, timeoutMs, header, one(input));
      const trailer = new Headers();
      let message: unknown;
      let count = 0;
      try {
        for await (const m of messages(call.ex, call.res, call.headers, call.codec.parse, trailer)) {
          message = m;
          count++;
        }
      } catch (e) {
        // connect-es' convention: a unary error's metadata holds the response headers and trailers.
        if (e instanceof ConnectError) call.headers.forEach((v, k) => e.metadata.has(k) || e.metadata.append(k, v));
        throw e;
      }
      if (count !== 1) {
        const metadata = new Headers(call.headers);
        trailer.forEach((v, k) => metadata.append(k, v));
        throw new ConnectError(count === 0 ? "protocol error: missing output message for unary method" : "protocol error: received extra output message for unary method", Code.Unimplemented, metadata);
      }
      return { stream: false, service: method.parent, method, header: call.headers, trailer, message: message as never };
    },
    async stream<I extends DescMessage, O extends DescMessage>(method: DescMethodStreaming<I, O>, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: AsyncIterable<MessageInitShape<I>>, _contextValues?: ContextValues): Promise<StreamResponse<I, O>> {
      const call = await start(method, signal, timeoutMs, header, input);
      const trailer = new Headers();
      const output = messages(call.ex, call.res, call.headers, call.codec.parse, trailer);
      return { stream: true, service: method.parent, method, header: call.headers, trailer, message: output } as StreamResponse<I, O>;
    },
  };
  return interceptTransport(raw, opts.interceptors, `${opts.url.origin}${opts.pathPrefix}`);
}
