// Weft's gRPC client transport: a connect-es `Transport` over one multiplexed HTTP/2 session per
// endpoint. Generated clients (`createClient(Service, transport)`) work unchanged.

import type * as http2 from "node:http2";
import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ContextValues, StreamResponse, Transport, UnaryResponse } from "@connectrpc/connect";
import { gzip } from "../protocol/index.ts";
import { FLAG_COMPRESSED, encodeFrame } from "../protocol/index.ts";
import { formatGrpcTimeout } from "../protocol/index.ts";
import { createCodecCache, headersInto } from "./codec.ts";
import type { ClientCodec } from "./codec.ts";
import { GrpcCall } from "./grpc-call.ts";
import { GrpcUnaryCall } from "./grpc-unary-call.ts";
import { interceptTransport } from "./intercept.ts";
import { resolveTransportOptions } from "./options.ts";
import type { ResolvedTransportOptions, WeftTransportOptions } from "./options.ts";
import { SessionPool } from "./session-pool.ts";
import type { WeftTransport } from "./weft-transport.ts";

/** A Transport that can also report its load and be closed. */
export type { WeftTransport } from "./weft-transport.ts";

/** Everything a call needs from its transport. */
class GrpcTransportCore {
  readonly opts: ResolvedTransportOptions;
  readonly pool: SessionPool;
  readonly codecOf: ReturnType<typeof createCodecCache>;
  readonly contentType: string;
  readonly authority: string;
  readonly #fixed = new WeakMap<ClientCodec, Readonly<Record<string, string>>>();

  constructor(opts: ResolvedTransportOptions) {
    this.opts = opts;
    this.authority = opts.url.host;
    this.contentType = opts.binaryFormat ? "application/grpc+proto" : "application/grpc+json";
    const tls = opts.tls;
    this.pool = new SessionPool({
      authority: opts.url.origin,
      connectOptions: { ...(tls ?? {}), ALPNProtocols: ["h2"], peerMaxConcurrentStreams: opts.maxConcurrentCalls },
      maxConcurrentCalls: opts.maxConcurrentCalls,
      maxQueuedCalls: opts.maxQueuedCalls,
      idleTimeoutMs: opts.idleTimeoutMs,
    });
    this.codecOf = createCodecCache(opts.binaryFormat, opts.pathPrefix, opts.json);
  }

  /** Request headers of one call: the caller's, then the fixed gRPC ones (which win), then the timeout. */
  headers(codec: ClientCodec, timeoutMs: number | undefined, header: HeadersInit | Headers | undefined): http2.OutgoingHttpHeaders {
    const h: Record<string, string | string[]> = {};
    headersInto(header, h);
    Object.assign(h, this.fixedHeaders(codec));
    if (timeoutMs !== undefined) h["grpc-timeout"] = formatGrpcTimeout(timeoutMs);
    return h;
  }

  /** The headers every call of a method sends, built once per method. */
  fixedHeaders(codec: ClientCodec): Readonly<Record<string, string>> {
    let fixed = this.#fixed.get(codec);
    if (fixed === undefined) {
      const h: Record<string, string> = {
        ":method": "POST",
        ":path": codec.path,
        ":scheme": this.opts.url.protocol === "https:" ? "https" : "http",
        ":authority": this.authority,
        "content-type": this.contentType,
        te: "trailers",
        "user-agent": this.opts.userAgent,
      };
      if (this.opts.acceptGzip) h["grpc-accept-encoding"] = "gzip";
      if (this.opts.sendGzip) h["grpc-encoding"] = "gzip";
      fixed = Object.freeze(h);
      this.#fixed.set(codec, fixed);
    }
    return fixed;
  }

  /** The enveloped request message; a promise only when it is gzip-compressed. */
  frame(codec: ClientCodec, message: unknown): Buffer | Promise<Buffer> {
    const bytes = codec.serialize(message);
    if (bytes.length > this.opts.writeMaxBytes) {
      throw new ConnectError(`message size ${bytes.length} is larger than configured writeMaxBytes ${this.opts.writeMaxBytes}`, Code.ResourceExhausted);
    }
    if (this.opts.sendGzip && bytes.length >= this.opts.compressMinBytes) return gzip(bytes).then((z) => encodeFrame(FLAG_COMPRESSED, z));
    return encodeFrame(0, bytes);
  }

  /** One unary call: resolves with the response message and the call (for its headers and trailers). */
  async unary(method: DescMethodUnary, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, message: unknown): Promise<{ message: unknown; call: GrpcUnaryCall }> {
    const codec = this.codecOf(method);
    let payload = this.frame(codec, message);
    if (!Buffer.isBuffer(payload)) payload = await payload;
    const wait = this.pool.acquire(signal);
    if (wait !== undefined) await wait;
    const call = new GrpcUnaryCall(this.pool, this.opts.readMaxBytes, codec, this.headers(codec, timeoutMs, header), payload, signal, timeoutMs);
    return { message: await call.result, call };
  }

  async stream(method: DescMethodStreaming, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: AsyncIterable<unknown>): Promise<GrpcCall> {
    const codec = this.codecOf(method);
    const wait = this.pool.acquire(signal);
    if (wait !== undefined) await wait;
    const call = new GrpcCall(this.pool, this.opts.readMaxBytes, codec, this.headers(codec, timeoutMs, header), signal, timeoutMs);
    void this.#pumpInput(call, codec, input);
    await call.waitHead();
    if (call.head === undefined || call.head["grpc-status"] !== undefined || call.localError !== undefined) {
      // No head at all, or a trailers-only answer: the call is over, report its status now.
      if (call.localError !== undefined) throw call.localError;
      if (call.head === undefined || Number(call.head[":status"]) !== 200 || call.head["grpc-status"] !== "0") {
        await new Promise<void>((r) => (call.closed ? r() : call.stream.once("close", () => r())));
        const err = call.outcome();
        if (err !== undefined) throw err;
      }
    }
    return call;
  }

  async #pumpInput(call: GrpcCall, codec: ClientCodec, input: AsyncIterable<unknown>): Promise<void> {
    const stream = call.stream;
    try {
      for await (const m of input) {
        if (call.closed || call.localError !== undefined) return;
        if (!stream.write(await this.frame(codec, codec.normalizeInput(m)))) {
          await new Promise<void>((resolve) => {
            const done = () => {
              stream.off("drain", done);
              stream.off("close", done);
              resolve();
            };
            stream.on("drain", done);
            stream.on("close", done);
          });
        }
      }
      if (!stream.destroyed) stream.end();
    } catch (e) {
      call.abort(e instanceof ConnectError ? e : new ConnectError("request stream failed", Code.Internal, undefined, undefined, e));
    }
  }
}

/** Creates Weft's gRPC transport (HTTP/2, one session per transport, multiplexed calls). */
export function createWeftGrpcTransport(options: WeftTransportOptions): WeftTransport {
  const opts = resolveTransportOptions(options);
  const core = new GrpcTransportCore(opts);
  const timeoutOf = (t: number | undefined) => (t !== undefined && t > 0 ? t : opts.defaultTimeoutMs);

  const raw: WeftTransport = {
    get outstanding() {
      return core.pool.outstanding;
    },
    close() {
      core.pool.close();
    },
    async unary<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: MessageInitShape<I>, _contextValues?: ContextValues): Promise<UnaryResponse<I, O>> {
      const codec = core.codecOf(method);
      const { message, call } = await core.unary(method, signal, timeoutOf(timeoutMs), header, codec.normalizeInput(input));
      let h: Headers | undefined;
      let t: Headers | undefined;
      return {
        stream: false,
        service: method.parent,
        method,
        message: message as never,
        get header() { return (h ??= call.responseHeader()); },
        get trailer() { return (t ??= call.responseTrailer()); },
      };
    },
    async stream<I extends DescMessage, O extends DescMessage>(method: DescMethodStreaming<I, O>, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: AsyncIterable<MessageInitShape<I>>, _contextValues?: ContextValues): Promise<StreamResponse<I, O>> {
      const timeout = timeoutOf(timeoutMs);
      const run = async (sig: AbortSignal | undefined, hdr: HeadersInit | undefined, msgs: AsyncIterable<unknown>): Promise<StreamResponse> => {
        const call = await core.stream(method, sig, timeout, hdr, msgs);
        let trailer: Headers | undefined;
        const output: AsyncIterable<never> = {
          [Symbol.asyncIterator]() {
            return {
              async next() {
                const m = await call.read();
                return m === undefined ? { done: true, value: undefined } : { done: false, value: m as never };
              },
              async return() {
                if (!call.closed) call.abort(new ConnectError("the caller stopped reading", Code.Canceled));
                return { done: true, value: undefined };
              },
            };
          },
        };
        return {
          stream: true,
          service: method.parent,
          method,
          header: call.responseHeader(),
          get trailer() { return (trailer ??= call.responseTrailer()); },
          message: output,
        } as StreamResponse;
      };
      return (await run(signal, header, input)) as StreamResponse<I, O>;
    },
  };
  return interceptTransport(raw, opts.interceptors, `${opts.url.origin}${opts.pathPrefix}`);
}
