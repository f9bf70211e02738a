// Weft's Connect client transport, over HTTP/1.1 (keep-alive pool) or HTTP/2 (one multiplexed
// session): unary (POST, or GET for side-effect-free methods when asked), and every streaming kind.
// The request stream is written while the response is read, so full-duplex bidi works over HTTP/2.

import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ContextValues, StreamResponse, UnaryResponse } from "@connectrpc/connect";
import { codeFromHttpStatus, endStreamFromJson, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { gunzipLimited, gzip } from "../protocol/index.ts";
import { FLAG_COMPRESSED, FLAG_END_STREAM, encodeFrame } from "../protocol/index.ts";
import { createCodecCache, headersInto, nodeHeadersToHeaders } from "./codec.ts";
import type { ClientCodec } from "./codec.ts";
import type { WeftTransport } from "./weft-transport.ts";
import { createHttp1Opener, createHttp2Opener, writeWithBackpressure } from "./http-exchange.ts";
import type { Exchange, ExchangeResponse } from "./http-exchange.ts";
import { resolveTransportOptions } from "./options.ts";
import type { ResolvedTransportOptions, WeftTransportOptions } from "./options.ts";
import { interceptTransport } from "./intercept.ts";
import { readFrames } from "./read-frames.ts";

/** Reads a whole response body, failing with RESOURCE_EXHAUSTED past `limit` bytes. */
export async function readBody(res: ExchangeResponse, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) {
      res.body.destroy();
      throw new ConnectError(`message size ${size} is larger than configured readMaxBytes ${limit}`, Code.ResourceExhausted);
    }
    chunks.push(c);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

/** Serialises one request message (gzip past compressMinBytes when asked); RESOURCE_EXHAUSTED past writeMaxBytes. */
export async function serializeRequest(opts: ResolvedTransportOptions, codec: ClientCodec, message: unknown): Promise<{ bytes: Uint8Array; gz: boolean }> {
  const bytes = codec.serialize(message);
  if (bytes.length > opts.writeMaxBytes) throw new ConnectError(`message size ${bytes.length} is larger than configured writeMaxBytes ${opts.writeMaxBytes}`, Code.ResourceExhausted);
  if (opts.sendGzip && bytes.length >= opts.compressMinBytes) return { bytes: await gzip(bytes), gz: true };
  return { bytes, gz: false };
}

/** Writes every enveloped message of `input` to the exchange, then ends it; a failure aborts the exchange. */
export async function pumpFrames(opts: ResolvedTransportOptions, ex: Exchange, codec: ClientCodec, input: AsyncIterable<unknown>): Promise<void> {
  try {
    for await (const m of input) {
      const { bytes, gz } = await serializeRequest(opts, codec, codec.normalizeInput(m));
      if (!(await writeWithBackpressure(ex.body, encodeFrame(gz ? FLAG_COMPRESSED : 0, bytes)))) return;
    }
    if (!ex.body.destroyed) ex.body.end();
  } catch (e) {
    ex.abort(e instanceof ConnectError ? e : new ConnectError("request stream failed", Code.Internal, undefined, undefined, e));
  }
}

/**
 * Fails a 200 answer whose content type is not the protocol's (UNKNOWN) or carries the other codec
 * (INTERNAL), as the Connect spec asks.
 */
function checkContentType(res: ExchangeResponse, shape: RegExp, codec: string, headers: Headers): void {
  const m = shape.exec(res.headers["content-type"] ?? "");
  if (m !== null && m[1].toLowerCase() === codec) return;
  res.body.resume();
  throw m === null
    ? new ConnectError(`unexpected response content type ${String(res.headers["content-type"])}`, Code.Unknown, headers)
    : new ConnectError(`unexpected response codec ${m[1]}, asked for ${codec}`, Code.Internal, headers);
}

/** Creates Weft's Connect transport (HTTP/1.1 by default, HTTP/2 with `httpVersion: "2"`). */
export function createWeftConnectTransport(options: WeftTransportOptions): WeftTransport {
  const opts = resolveTransportOptions(options);
  const opener = opts.httpVersion === "2" ? createHttp2Opener(opts) : createHttp1Opener(opts);
  const codecOf = createCodecCache(opts.binaryFormat, opts.pathPrefix, opts.json);
  const unaryType = opts.binaryFormat ? "application/proto" : "application/json";
  const streamType = opts.binaryFormat ? "application/connect+proto" : "application/connect+json";

  function baseHeaders(header: HeadersInit | undefined, timeoutMs: number | undefined): Record<string, string | string[] | number> {
    const h: Record<string, string | string[] | number> = {};
    headersInto(header, h as Record<string, string>);
    h["user-agent"] = opts.userAgent;
    h["connect-protocol-version"] = "1";
    if (timeoutMs !== undefined) h["connect-timeout-ms"] = String(Math.max(1, Math.ceil(timeoutMs)));
    return h;
  }

  /** A non-200 answer as the ConnectError it describes. */
  async function httpError(res: ExchangeResponse, headers: Headers): Promise<ConnectError> {
    const body = await readBody(res, opts.readMaxBytes).catch(() => Buffer.alloc(0));
    const fallback = new ConnectError(`HTTP ${res.status}`, codeFromHttpStatus(res.status), headers);
    if (!(res.headers["content-type"] ?? "").startsWith("application/json")) return fallback;
    const plain = res.headers["content-encoding"] === "gzip" && body.length > 0 ? await gunzipLimited(body, opts.readMaxBytes).catch(() => body) : body;
    return errorFromJsonBytes(plain, headers, fallback);
  }

  const timeoutOf = (t: number | undefined) => (t !== undefined && t > 0 ? t : opts.defaultTimeoutMs);

  const raw: WeftTransport = {
    get outstanding() {
      return opener.outstanding;
    },
    close() {
      opener.close();
    },
    refreshConnections() {},
    async unary<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: MessageInitShape<I>, _contextValues?: ContextValues): Promise<UnaryResponse<I, O>> {
      const codec = codecOf(method);
      const { bytes, gz } = await serializeRequest(opts, codec, codec.normalizeInput(input));
      const h = baseHeaders(header, timeoutOf(timeoutMs));
      if (opts.acceptGzip) h["accept-encoding"] = "gzip";
      let ex: Exchange;
      if (opts.useHttpGet && method.idempotency === 1 /* NO_SIDE_EFFECTS */) {
        const q = new URLSearchParams({ connect: "v1", encoding: opts.binaryFormat ? "proto" : "json" });
        if (opts.binaryFormat || gz) q.set("base64", "1");
        if (gz) q.set("compression", "gzip");
        q.set("message", opts.binaryFormat || gz ? Buffer.from(bytes).toString("base64url") : Buffer.from(bytes).toString("utf8"));
        delete h["connect-protocol-version"];
        ex = await opener.open("GET", `${codec.path}?${q}`, h, signal, timeoutOf(timeoutMs));
        ex.body.end();
      } else {
        h["content-type"] = unaryType;
        h["content-length"] = bytes.length;
        if (gz) h["content-encoding"] = "gzip";
        ex = await opener.open("POST", codec.path, h, signal, timeoutOf(timeoutMs));
        ex.body.end(bytes);
      }
      const res = await ex.response;
      const headers = nodeHeadersToHeaders(res.headers);
      if (res.status !== 200) throw await httpError(res, headers);
      checkContentType(res, /^application\/(proto|json)(;|$)/i, opts.binaryFormat ? "proto" : "json", headers);
      let body = await readBody(res, opts.readMaxBytes);
      const trailer = new Headers();
      const plainHeaders = new Headers();
      headers.forEach((v, k) => {
        if (k.startsWith("trailer-")) trailer.append(k.slice(8), v);
        else plainHeaders.append(k, v);
      });
      const encoding = res.headers["content-encoding"];
      if (encoding !== undefined && encoding !== "gzip" && encoding !== "identity") throw new ConnectError(`protocol error: unsupported response encoding "${encoding}"`, Code.Internal, headers);
      if (encoding === "gzip" && body.length > 0) body = await gunzipLimited(body, opts.readMaxBytes);
      let message: unknown;
      try {
        message = codec.parse(body);
      } catch (e) {
        throw new ConnectError("cannot decode response message", Code.Internal, undefined, undefined, e);
      }
      return { stream: false, service: method.parent, method, header: plainHeaders, trailer, message: message as never };
    },
    async stream<I extends DescMessage, O extends DescMessage>(method: DescMethodStreaming<I, O>, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: AsyncIterable<MessageInitShape<I>>, _contextValues?: ContextValues): Promise<StreamResponse<I, O>> {
      const codec = codecOf(method);
      const h = baseHeaders(header, timeoutOf(timeoutMs));
      h["content-type"] = streamType;
      if (opts.sendGzip) h["connect-content-encoding"] = "gzip";
      if (opts.acceptGzip) h["connect-accept-encoding"] = "gzip";
      const ex = await opener.open("POST", codec.path, h, signal, timeoutOf(timeoutMs));
      void pumpFrames(opts, ex, codec, input);
      const res = await ex.response;
      const headers = nodeHeadersToHeaders(res.headers);
      if (res.status !== 200) throw await httpError(res, headers);
      checkContentType(res, /^application\/connect\+(proto|json)(;|$)/i, opts.binaryFormat ? "proto" : "json", headers);
      const trailer = new Headers();
      const encoding = res.headers["connect-content-encoding"];
      if (encoding !== undefined && encoding !== "gzip" && encoding !== "identity") {
        res.body.destroy();
        throw new ConnectError(`protocol error: unsupported response encoding "${String(encoding)}"`, Code.Internal);
      }
      const gzipped = encoding === "gzip";
      async function* messages(): AsyncGenerator<never> {
        let ended = false;
        try {
          for await (const f of readFrames(res.body as AsyncIterable<Buffer>, opts.readMaxBytes, gzipped, "connect-content-encoding")) {
            if (ended) throw new ConnectError("protocol error: data after the end-of-stream message", Code.Internal);
            if ((f.flags & FLAG_END_STREAM) !== 0) {
              ended = true;
              const end = endStreamFromJson(f.data);
              end.metadata.forEach((v, k) => trailer.append(k, v));
              if (end.error !== undefined) throw end.error;
              continue;
            }
            if (ex.failure !== undefined) throw ex.failure;
            yield codec.parse(f.data) as never;
          }
          if (!ended) throw new ConnectError("protocol error: missing end-of-stream message", Code.Internal);
        } catch (e) {
          const err = ex.failure ?? (e instanceof ConnectError ? e : ConnectError.from(e, Code.Internal));
          ex.abort(err);
          throw err;
        }
      }
      return { stream: true, service: method.parent, method, header: headers, trailer, message: messages() } as StreamResponse<I, O>;
    },
  };
  return interceptTransport(raw, opts.interceptors, `${opts.url.origin}${opts.pathPrefix}`);
}
