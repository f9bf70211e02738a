// Weft's gRPC client transport: a connect-es `Transport` over one multiplexed HTTP/2 session per
// endpoint. Generated clients (`createClient(Service, transport)`) work unchanged.

import * as http2 from "node:http2";
import type { IncomingHttpHeaders } from "node:http2";
import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ContextValues, StreamResponse, Transport, UnaryResponse } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { gunzipLimited, gzip } from "../protocol/compression.ts";
import { FLAG_COMPRESSED, FrameReader, encodeFrame } from "../protocol/envelope.ts";
import type { Frame } from "../protocol/envelope.ts";
import { formatGrpcTimeout } from "../protocol/timeout.ts";
import { createCodecCache, headersInto, nodeHeadersToHeaders } from "./codec.ts";
import type { ClientCodec } from "./codec.ts";
import { resolveTransportOptions } from "./options.ts";
import type { ResolvedTransportOptions, WeftTransportOptions } from "./options.ts";
import { SessionPool, UNSENT, connectionError } from "./session-pool.ts";
import { interceptTransport } from "./intercept.ts";

/** A Transport that can also report its load and be closed. */
export interface WeftTransport extends Transport {
  /** Calls in flight plus calls queued for a slot (for least-outstanding load balancing). */
  readonly outstanding: number;
  /** Closes the connection gracefully; in-flight calls finish, later calls fail with UNAVAILABLE. */
  close(): void;
}

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** gRPC's HTTP-status-to-code table, for responses that are not gRPC at all. */
function codeFromHttp(status: number): Code {
  switch (status) {
    case 400: return Code.Internal;
    case 401: return Code.Unauthenticated;
    case 403: return Code.PermissionDenied;
    case 404: return Code.Unimplemented;
    case 429: case 502: case 503: case 504: return Code.Unavailable;
    default: return Code.Unknown;
  }
}

/** The call's outcome from its headers, trailers and reset code; undefined means OK. */
function statusOf(head: IncomingHttpHeaders | undefined, trailers: IncomingHttpHeaders | undefined, rstCode: number | undefined, connected: boolean): ConnectError | undefined {
  if (head === undefined) {
    if (rstCode === NGHTTP2_REFUSED_STREAM) return new ConnectError("stream refused by the server", Code.Unavailable, UNSENT);
    if (!connected) return new ConnectError("connection failed", Code.Unavailable, UNSENT);
    if (rstCode === NGHTTP2_CANCEL) return new ConnectError("stream canceled", Code.Canceled);
    return new ConnectError("the server closed the stream without a response", Code.Unavailable);
  }
  const status = head[":status"];
  if (Number(status) !== 200) return new ConnectError(`HTTP ${String(status)}`, codeFromHttp(Number(status)));
  const ct = head["content-type"];
  if (typeof ct !== "string" || !ct.startsWith("application/grpc")) return new ConnectError(`unexpected content type ${String(ct)}`, Code.Unknown);
  const source = trailers !== undefined && trailers["grpc-status"] !== undefined ? trailers : head["grpc-status"] !== undefined ? head : undefined;
  if (source === undefined) {
    if (rstCode === NGHTTP2_CANCEL) return new ConnectError("stream canceled", Code.Canceled);
    return new ConnectError(rstCode !== undefined && rstCode !== 0 ? `stream reset (code ${rstCode})` : "protocol error: missing grpc-status", rstCode === undefined || rstCode === 0 ? Code.Internal : Code.Unavailable);
  }
  if (source["grpc-status"] === "0") return undefined;
  return findTrailerError(nodeHeadersToHeaders(source)) ?? new ConnectError("protocol error: invalid grpc-status", Code.Internal);
}


/** One gRPC call on the wire. Unary and streaming share it. */
class GrpcCall {
  readonly #t: GrpcTransportCore;
  readonly stream: http2.ClientHttp2Stream;
  readonly codec: ClientCodec;
  head: IncomingHttpHeaders | undefined = undefined;
  trailers: IncomingHttpHeaders | undefined = undefined;
  readonly reader: FrameReader;
  frames: Frame[] = [];
  #next = 0;
  closed = false;
  /** Set when the call ended locally (deadline, cancel, size limit): it wins over what the wire says. */
  localError: ConnectError | undefined = undefined;
  #wake: (() => void) | undefined = undefined;
  #onHead: (() => void) | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;
  #signal: AbortSignal | undefined;
  #session: http2.ClientHttp2Session | undefined = undefined;
  #onAbort: (() => void) | undefined = undefined;

  constructor(t: GrpcTransportCore, codec: ClientCodec, headers: http2.OutgoingHttpHeaders, signal: AbortSignal | undefined, timeoutMs: number | undefined) {
    this.#t = t;
    this.codec = codec;
    this.reader = new FrameReader(t.opts.readMaxBytes);
    this.#signal = signal;
    let stream: http2.ClientHttp2Stream;
    try {
      this.#session = t.pool.session();
      stream = this.#session.request(headers);
    } catch (e) {
      t.pool.release();
      throw connectionError(e, true);
    }
    this.stream = stream;
    stream.on("response", (h) => {
      this.head = h;
      this.#fire();
    });
    stream.on("data", (chunk: Buffer) => {
      this.reader.push(chunk, this.frames);
      if (this.reader.problem === "oversize") {
        this.abort(new ConnectError(`message size ${this.reader.declared} is larger than configured readMaxBytes ${t.opts.readMaxBytes}`, Code.ResourceExhausted));
      } else this.#fire();
    });
    stream.on("trailers", (h) => {
      this.trailers = h;
    });
    stream.on("error", () => {});
    stream.on("close", () => {
      this.closed = true;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      if (this.#onAbort !== undefined) this.#signal!.removeEventListener("abort", this.#onAbort);
      t.pool.release();
      this.#fire();
    });
    if (timeoutMs !== undefined) {
      this.#timer = setTimeout(() => this.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
    }
    if (signal !== undefined) {
      if (signal.aborted) this.abort(ConnectError.from(signal.reason, Code.Canceled));
      else {
        this.#onAbort = () => this.abort(ConnectError.from(signal.reason, Code.Canceled));
        signal.addEventListener("abort", this.#onAbort, { once: true });
      }
    }
  }

  #fire(): void {
    const h = this.#onHead;
    if (h !== undefined && (this.head !== undefined || this.closed)) {
      this.#onHead = undefined;
      h();
    }
    const w = this.#wake;
    if (w !== undefined) {
      this.#wake = undefined;
      w();
    }
  }

  /** Ends the call locally with `err` and resets the stream. */
  abort(err: ConnectError): void {
    if (this.closed || this.localError !== undefined) return;
    this.localError = err;
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_CANCEL);
    this.#fire();
  }

  /** The final status once the stream closed. */
  outcome(): ConnectError | undefined {
    if (this.localError !== undefined) return this.localError;
    if (this.reader.problem === "truncated") return new ConnectError("protocol error: incomplete envelope", Code.Internal);
    return statusOf(this.head, this.trailers, this.stream.rstCode, this.#t.pool.wasConnected(this.#session!));
  }

  waitHead(): Promise<void> {
    if (this.head !== undefined || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onHead = resolve;
    });
  }

  async decode(frame: Frame): Promise<unknown> {
    let data: Uint8Array = frame.data;
    if ((frame.flags & FLAG_COMPRESSED) !== 0) {
      if (this.head?.["grpc-encoding"] !== "gzip") throw new ConnectError("protocol error: received compressed message without grpc-encoding", Code.Internal);
      data = await gunzipLimited(data, this.#t.opts.readMaxBytes);
    }
    try {
      return this.codec.parse(data);
    } catch (e) {
      throw new ConnectError(`cannot decode response message: ${e instanceof Error ? e.message : String(e)}`, Code.Internal, undefined, undefined, e);
    }
  }

  /** The next response message, or undefined at the end (throws the call's error). */
  async read(): Promise<unknown> {
    for (;;) {
      if (this.localError !== undefined) throw this.localError;
      if (this.#next < this.frames.length) {
        const f = this.frames[this.#next++];
        if (this.#next === this.frames.length) {
          this.frames.length = 0;
          this.#next = 0;
        }
        return this.decode(f);
      }
      if (this.closed) {
        if (this.stream.readableEnded) this.reader.finish();
        const err = this.outcome();
        if (err !== undefined) throw err;
        return undefined;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Header and trailer as Headers, built on first read. */
  responseHeader(): Headers {
    return nodeHeadersToHeaders(this.head);
  }

  responseTrailer(): Headers {
    return nodeHeadersToHeaders(this.trailers ?? (this.head?.["grpc-status"] !== undefined ? this.head : undefined));
  }
}

/** Everything a call needs from its transport. */
class GrpcTransportCore {
  readonly opts: ResolvedTransportOptions;
  readonly pool: SessionPool;
  readonly codecOf: ReturnType<typeof createCodecCache>;
  readonly contentType: string;
  readonly authority: string;

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

  headers(codec: ClientCodec, timeoutMs: number | undefined, header: HeadersInit | Headers | undefined): http2.OutgoingHttpHeaders {
    const h: Record<string, string | string[]> = {};
    headersInto(header, h);
    h[":method"] = "POST";
    h[":path"] = codec.path;
    h[":scheme"] = this.opts.url.protocol === "https:" ? "https" : "http";
    h[":authority"] = this.authority;
    h["content-type"] = this.contentType;
    h["te"] = "trailers";
    h["user-agent"] = this.opts.userAgent;
    if (this.opts.acceptGzip) h["grpc-accept-encoding"] = "gzip";
    if (this.opts.sendGzip) h["grpc-encoding"] = "gzip";
    if (timeoutMs !== undefined) h["grpc-timeout"] = formatGrpcTimeout(timeoutMs);
    return h;
  }

  async frame(codec: ClientCodec, message: unknown): Promise<Buffer> {
    const bytes = codec.serialize(message);
    if (bytes.length > this.opts.writeMaxBytes) {
      throw new ConnectError(`message size ${bytes.length} is larger than configured writeMaxBytes ${this.opts.writeMaxBytes}`, Code.ResourceExhausted);
    }
    if (this.opts.sendGzip && bytes.length >= this.opts.compressMinBytes) return encodeFrame(FLAG_COMPRESSED, await gzip(bytes));
    return encodeFrame(0, bytes);
  }

  async unary(method: DescMethodUnary, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, message: unknown): Promise<{ message: unknown; call: GrpcCall }> {
    const codec = this.codecOf(method);
    const payload = await this.frame(codec, message);
    const wait = this.pool.acquire(signal);
    if (wait !== undefined) await wait;
    const call = new GrpcCall(this, codec, this.headers(codec, timeoutMs, header), signal, timeoutMs);
    call.stream.end(payload);
    const out = await call.read();
    if (out === undefined) throw new ConnectError("protocol error: missing output message for unary method", Code.Unimplemented);
    const extra = await call.read();
    if (extra !== undefined) throw new ConnectError("protocol error: received extra output message for unary method", Code.Unimplemented);
    return { message: out, call };
  }

  async stream(method: DescMethodStreaming, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, input: AsyncIterable<unknown>): Promise<GrpcCall> {
    const codec = this.codecOf(method);
    const wait = this.pool.acquire(signal);
    if (wait !== undefined) await wait;
    const call = new GrpcCall(this, codec, this.headers(codec, timeoutMs, header), signal, timeoutMs);
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
