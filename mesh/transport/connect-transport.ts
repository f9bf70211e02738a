// Weft's Connect client transport over HTTP/1.1 with keep-alive (unary, and streaming as the
// Connect protocol allows over HTTP/1.1: the request body is sent, then the response read).

import * as http from "node:http";
import * as https from "node:https";
import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ContextValues, StreamResponse, UnaryResponse } from "@connectrpc/connect";
import { codeFromHttpStatus, endStreamFromJson, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { gunzipLimited, gzip } from "../protocol/index.ts";
import { FLAG_COMPRESSED, FLAG_END_STREAM, FrameReader, encodeFrame } from "../protocol/index.ts";
import type { Frame } from "../protocol/index.ts";
import { createCodecCache, headersInto, nodeHeadersToHeaders } from "./codec.ts";
import type { ClientCodec } from "./codec.ts";
import type { WeftTransport } from "./weft-transport.ts";
import { resolveTransportOptions } from "./options.ts";
import type { WeftTransportOptions } from "./options.ts";
import { UNSENT, connectionError } from "./session-pool.ts";
import { interceptTransport } from "./intercept.ts";

/** Creates Weft's Connect transport (HTTP/1.1, keep-alive connection pool of `maxConcurrentCalls` sockets). */
export function createWeftConnectTransport(options: WeftTransportOptions): WeftTransport {
  const opts = resolveTransportOptions(options);
  const secure = opts.url.protocol === "https:";
  const agent = secure
    ? new https.Agent({ keepAlive: true, maxSockets: opts.maxConcurrentCalls, ...(opts.tls ?? {}) })
    : new http.Agent({ keepAlive: true, maxSockets: opts.maxConcurrentCalls });
  const codecOf = createCodecCache(opts.binaryFormat, opts.pathPrefix, opts.json);
  const unaryType = opts.binaryFormat ? "application/proto" : "application/json";
  const streamType = opts.binaryFormat ? "application/connect+proto" : "application/connect+json";
  let outstanding = 0;
  let closed = false;

  function request(codec: ClientCodec, headers: Record<string, string | string[] | number>, signal: AbortSignal | undefined, timeoutMs: number | undefined): { req: http.ClientRequest; response: Promise<http.IncomingMessage> } {
    if (closed) throw new ConnectError("transport is closed", Code.Unavailable, UNSENT);
    headers["user-agent"] = opts.userAgent;
    headers["connect-protocol-version"] = "1";
    if (timeoutMs !== undefined) headers["connect-timeout-ms"] = String(Math.max(1, Math.ceil(timeoutMs)));
    const req = (secure ? https : http).request({
      agent, method: "POST", protocol: opts.url.protocol, hostname: opts.url.hostname, port: opts.url.port, path: codec.path, headers,
    });
    outstanding++;
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        outstanding--;
      }
    };
    const response = new Promise<http.IncomingMessage>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => fail(ConnectError.from(signal!.reason, Code.Canceled));
      const cleanup = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        finish();
      };
      const fail = (err: ConnectError) => {
        cleanup();
        req.destroy(err);
        reject(err);
      };
      if (timeoutMs !== undefined) timer = setTimeout(() => fail(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
      if (signal !== undefined) {
        if (signal.aborted) queueMicrotask(onAbort);
        else signal.addEventListener("abort", onAbort, { once: true });
      }
      req.on("error", (e) => {
        cleanup();
        reject(e instanceof ConnectError ? e : connectionError(e));
      });
      req.on("response", (res) => {
        res.on("error", () => {});
        res.on("end", cleanup);
        res.on("close", cleanup);
        resolve(res);
      });
    });
    return { req, response };
  }

  async function readBody(res: http.IncomingMessage, limit: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > limit) {
        res.destroy();
        throw new ConnectError(`message size ${size} is larger than configured readMaxBytes ${limit}`, Code.ResourceExhausted);
      }
      chunks.push(c);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
  }

  async function serialize(codec: ClientCodec, message: unknown): Promise<{ bytes: Uint8Array; gz: boolean }> {
    const bytes = codec.serialize(message);
    if (bytes.length > opts.writeMaxBytes) throw new ConnectError(`message size ${bytes.length} is larger than configured writeMaxBytes ${opts.writeMaxBytes}`, Code.ResourceExhausted);
    if (opts.sendGzip && bytes.length >= opts.compressMinBytes) return { bytes: await gzip(bytes), gz: true };
    return { bytes, gz: false };
  }

  const timeoutOf = (t: number | undefined) => (t !== undefined && t > 0 ? t : opts.defaultTimeoutMs);

  const raw: WeftTransport = {
    get outstanding() {
      return outstanding;
    },
    close() {
      closed = true;
      agent.destroy();
    },
    async unary<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: MessageInitShape<I>, _contextValues?: ContextValues): Promise<UnaryResponse<I, O>> {
      const codec = codecOf(method);
      const { bytes, gz } = await serialize(codec, codec.normalizeInput(input));
      const h: Record<string, string | string[] | number> = {};
      headersInto(header, h as Record<string, string>);
      h["content-type"] = unaryType;
      h["content-length"] = bytes.length;
      if (gz) h["content-encoding"] = "gzip";
      if (opts.acceptGzip) h["accept-encoding"] = "gzip";
      const { req, response } = request(codec, h, signal, timeoutOf(timeoutMs));
      req.end(bytes);
      const res = await response;
      let body = await readBody(res, opts.readMaxBytes);
      const status = res.statusCode ?? 0;
      const headers = nodeHeadersToHeaders(res.headers);
      const trailer = new Headers();
      headers.forEach((v, k) => {
        if (k.startsWith("trailer-")) trailer.append(k.slice(8), v);
      });
      if (res.headers["content-encoding"] === "gzip" && body.length > 0) body = await gunzipLimited(body, opts.readMaxBytes);
      if (status !== 200) {
        const fallback = new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status), headers);
        throw (res.headers["content-type"] ?? "").startsWith("application/json") ? errorFromJsonBytes(body, headers, fallback) : fallback;
      }
      let message: unknown;
      try {
        message = codec.parse(body);
      } catch (e) {
        throw new ConnectError("cannot decode response message", Code.Internal, undefined, undefined, e);
      }
      return { stream: false, service: method.parent, method, header: headers, trailer, message: message as never };
    },
    async stream<I extends DescMessage, O extends DescMessage>(method: DescMethodStreaming<I, O>, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: AsyncIterable<MessageInitShape<I>>, _contextValues?: ContextValues): Promise<StreamResponse<I, O>> {
      const codec = codecOf(method);
      const h: Record<string, string | string[] | number> = {};
      headersInto(header, h as Record<string, string>);
      h["content-type"] = streamType;
      if (opts.sendGzip) h["connect-content-encoding"] = "gzip";
      if (opts.acceptGzip) h["connect-accept-encoding"] = "gzip";
      const { req, response } = request(codec, h, signal, timeoutOf(timeoutMs));
      for await (const m of input) {
        const { bytes, gz } = await serialize(codec, codec.normalizeInput(m));
        req.write(encodeFrame(gz ? FLAG_COMPRESSED : 0, bytes));
      }
      req.end();
      const res = await response;
      const status = res.statusCode ?? 0;
      const headers = nodeHeadersToHeaders(res.headers);
      if (status !== 200) {
        const body = await readBody(res, opts.readMaxBytes).catch(() => Buffer.alloc(0));
        const fallback = new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status), headers);
        throw (res.headers["content-type"] ?? "").startsWith("application/json") ? errorFromJsonBytes(body, headers, fallback) : fallback;
      }
      const trailer = new Headers();
      const gzipped = res.headers["connect-content-encoding"] === "gzip";
      async function* messages(): AsyncGenerator<never> {
        const reader = new FrameReader(opts.readMaxBytes);
        const frames: Frame[] = [];
        let ended = false;
        try {
          for await (const chunk of res as AsyncIterable<Buffer>) {
            reader.push(chunk, frames);
            if (reader.problem === "oversize") throw new ConnectError(`message size ${reader.declared} is larger than configured readMaxBytes ${opts.readMaxBytes}`, Code.ResourceExhausted);
            for (const f of frames.splice(0)) {
              let data: Uint8Array = f.data;
              if ((f.flags & FLAG_COMPRESSED) !== 0) {
                if (!gzipped) throw new ConnectError("protocol error: compressed message without connect-content-encoding", Code.Internal);
                data = await gunzipLimited(data, opts.readMaxBytes);
              }
              if ((f.flags & FLAG_END_STREAM) !== 0) {
                ended = true;
                const end = endStreamFromJson(data);
                end.metadata.forEach((v, k) => trailer.append(k, v));
                if (end.error !== undefined) throw end.error;
                continue;
              }
              yield codec.parse(data) as never;
            }
          }
        } finally {
          if (!res.complete) res.destroy();
        }
        reader.finish();
        if (!ended) throw new ConnectError("protocol error: missing end-of-stream message", Code.Internal);
      }
      return { stream: true, service: method.parent, method, header: headers, trailer, message: messages() } as StreamResponse<I, O>;
    },
  };
  return interceptTransport(raw, opts.interceptors, `${opts.url.origin}${opts.pathPrefix}`);
}
