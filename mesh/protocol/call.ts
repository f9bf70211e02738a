// One server call, any protocol: reads the request (bounded), runs the handler, writes the response in
// the protocol's shape and maps every failure to a status. The hot path (unary, no interceptors, no
// timeout header, nothing read from the context) allocates the call, its context and the buffers, and
// nothing else per call: no AbortController, no Headers, no per-call timers.

import { Code, ConnectError } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import { acceptsGzip, gunzipLimited, gzip, requestIsGzip } from "./compression.ts";
import { FLAG_COMPRESSED, FLAG_END_STREAM, FLAG_TRAILER, FrameReader, encodeFrame } from "./envelope.ts";
import type { Frame } from "./envelope.ts";
import { connectErrorJson, connectErrorStatus, copyUserHeaders, grpcErrorTrailers, isProtocolHeader, toConnectError } from "./errors.ts";
import { LazyHandlerContext } from "./handler-context.ts";
import type { ContextOwner } from "./handler-context.ts";
import { normalizeIterable } from "./invoke.ts";
import type { Invoker } from "./invoke.ts";
import type { MethodEntry } from "./method-table.ts";
import { RequestStream } from "./request-stream.ts";
import { parseTimeoutHeader } from "./timeout.ts";
import type { OutHeaders, Wire } from "./wire.ts";
import type { CorsPolicy } from "../host/cors.ts";
import type { HostLogger } from "../host/logger.ts";

/** Protocol ids. */
export const GRPC = 0;
export const GRPC_WEB = 1;
export const CONNECT = 2;
export const CONNECT_STREAM = 3;
const PROTOCOL_NAMES = ["grpc", "grpc-web", "connect", "connect"];

/** Per-engine settings every call reads. */
export interface CallSettings {
  readonly interceptors: Interceptor[];
  /** Runs calls through `interceptors` (chains built once per method). */
  readonly invoker: Invoker;
  readonly readMaxBytes: number;
  readonly writeMaxBytes: number;
  readonly maxTimeoutMs: number;
  readonly compressMinBytes: number;
  readonly cors: CorsPolicy | undefined;
  readonly shutdownSignal: AbortSignal | undefined;
  readonly logger: HostLogger | undefined;
}

const GRPC_OK = "0";
const OK_TRAILERS: OutHeaders = Object.freeze({ "grpc-status": GRPC_OK }) as OutHeaders;
const ENC_GZIP = "gzip";

const EMPTY = Buffer.alloc(0);
const kCall = Symbol("weft.call");
type CallCarrier = { [kCall]?: ServerCall };

function onBodyData(this: CallCarrier, chunk: Buffer): void {
  this[kCall]!.onData(chunk);
}

function onBodyEnd(this: CallCarrier): void {
  this[kCall]!.onEnd();
}

function onDeadline(call: ServerCall): void {
  call.timer = undefined;
  call.fail(new ConnectError("the operation timed out", Code.DeadlineExceeded));
}

/** Turns trailers into the text block of a gRPC-Web trailer frame. */
function grpcWebTrailerFrame(trailers: OutHeaders): Buffer {
  let text = "";
  for (const key in trailers) {
    const v = trailers[key];
    if (Array.isArray(v)) for (const item of v) text += `${key}: ${item}\r\n`;
    else text += `${key}: ${v}\r\n`;
  }
  return encodeFrame(FLAG_TRAILER, Buffer.from(text));
}

export class ServerCall implements ContextOwner {
  readonly wire: Wire;
  readonly entry: MethodEntry;
  readonly settings: CallSettings;
  readonly protocol: number;
  readonly json: boolean;
  readonly ctx: LazyHandlerContext;
  readonly contentType: string;
  readonly origin: string | undefined;
  /** 0 reading/handling, 1 response head sent, 2 over. */
  state = 0;
  timer: NodeJS.Timeout | undefined = undefined;
  reqGzip = false;
  resGzip = false;
  // Single-message bodies: the first chunk, then any further ones (most requests are one chunk).
  #first: Buffer | undefined = undefined;
  #more: Buffer[] | undefined = undefined;
  #size = 0;
  /** Enveloped single message: total bytes expected (5 + declared length), -1 until the header is in. */
  #expect = -1;
  #envelope = false;
  #reader: FrameReader | undefined = undefined;
  #frames: Frame[] = [];
  #stream: RequestStream | undefined = undefined;
  #watching = false;

  constructor(wire: Wire, entry: MethodEntry, settings: CallSettings, protocol: number, json: boolean, contentType: string, requestMethod: string, authority: string) {
    this.wire = wire;
    this.entry = entry;
    this.settings = settings;
    this.protocol = protocol;
    this.json = json;
    this.contentType = contentType;
    this.origin = wire.headers.origin;
    this.ctx = new LazyHandlerContext(entry.method, PROTOCOL_NAMES[protocol], requestMethod, wire.headers, authority, this, settings.shutdownSignal);
  }

  /** Validates the headers and starts reading the body (POST). */
  start(): void {
    const h = this.wire.headers;
    const p = this.protocol;
    try {
      const grpcish = p <= GRPC_WEB;
      const ms = parseTimeoutHeader(grpcish ? h["grpc-timeout"] : h["connect-timeout-ms"], grpcish, this.settings.maxTimeoutMs);
      if (ms !== undefined) this.#setDeadline(ms);
      if (grpcish) {
        this.reqGzip = requestIsGzip(h["grpc-encoding"]);
        this.resGzip = acceptsGzip(h["grpc-accept-encoding"]);
      } else if (p === CONNECT) {
        this.reqGzip = requestIsGzip(h["content-encoding"]);
        this.resGzip = acceptsGzip(h["accept-encoding"]);
      } else {
        this.reqGzip = requestIsGzip(h["connect-content-encoding"]);
        this.resGzip = acceptsGzip(h["connect-accept-encoding"]);
      }
      if (this.entry.impl === undefined) throw new ConnectError(`${this.entry.path} is not implemented`, Code.Unimplemented);
      if (p === CONNECT) {
        const len = h["content-length"];
        if (len !== undefined && Number(len) > this.settings.readMaxBytes) {
          throw new ConnectError(`message size ${len} is larger than configured readMaxBytes ${this.settings.readMaxBytes}`, Code.ResourceExhausted);
        }
      }
    } catch (e) {
      this.fail(e);
      return;
    }
    const body = this.wire.body;
    const kind = this.entry.kind;
    if (kind === "unary" || kind === "server_streaming") {
      this.#envelope = p !== CONNECT;
      // Shared listeners find the call on the stream: no closures per call on the hot path.
      (body as CallCarrier)[kCall] = this;
      body.on("data", onBodyData);
      body.on("end", onBodyEnd);
    } else {
      this.#reader = new FrameReader(this.settings.readMaxBytes);
      const rs = (this.#stream = new RequestStream(this, body));
      body.on("data", (chunk: Buffer) => this.#onStreamData(chunk));
      body.on("end", () => this.#onStreamEnd());
      this.watchCancel();
      this.#runStreaming(rs);
    }
  }

  /** Starts a Connect GET call whose message came in the query string. */
  startGet(message: Buffer, gzipped: boolean): void {
    try {
      const ms = parseTimeoutHeader(this.wire.headers["connect-timeout-ms"], false, this.settings.maxTimeoutMs);
      if (ms !== undefined) this.#setDeadline(ms);
      this.resGzip = acceptsGzip(this.wire.headers["accept-encoding"]);
      this.reqGzip = gzipped;
      if (this.entry.impl === undefined) throw new ConnectError(`${this.entry.path} is not implemented`, Code.Unimplemented);
      if (!gzipped && message.length > this.settings.readMaxBytes) {
        throw new ConnectError(`message size ${message.length} is larger than configured readMaxBytes ${this.settings.readMaxBytes}`, Code.ResourceExhausted);
      }
    } catch (e) {
      this.fail(e);
      return;
    }
    this.#first = message;
    this.#size = message.length;
    this.onEnd();
  }

  #setDeadline(ms: number): void {
    this.ctx.deadline = Date.now() + ms;
    this.timer = setTimeout(onDeadline, ms, this);
  }

  watchCancel(): void {
    if (this.#watching) return;
    this.#watching = true;
    this.wire.events.once("close", () => {
      if (this.state === 2) return;
      const err = new ConnectError("the client canceled the call", Code.Canceled);
      this.#stream?.fail(err);
      this.#finish(err);
    });
  }

  // ---- reading a single request message ----

  /** @internal Body chunk of a single-message request. */
  onData(chunk: Buffer): void {
    if (this.state !== 0) return;
    const size = (this.#size += chunk.length);
    if (this.#first === undefined) this.#first = chunk;
    else (this.#more ??= []).push(chunk);
    const limit = this.settings.readMaxBytes;
    if (!this.#envelope) {
      if (size > limit) this.fail(new ConnectError(`message size ${size} is larger than configured readMaxBytes ${limit}`, Code.ResourceExhausted));
      return;
    }
    if (this.#expect < 0) {
      if (size < 5) return;
      const head = this.#first.length >= 5 ? this.#first : this.#body();
      const declared = head.readUInt32BE(1);
      // Checked on the 5-byte header, before buffering the payload.
      if (declared > limit) {
        this.fail(new ConnectError(`message size ${declared} is larger than configured readMaxBytes ${limit}`, Code.ResourceExhausted));
        return;
      }
      this.#expect = 5 + declared;
    }
    if (size > this.#expect) this.fail(new ConnectError(`protocol error: received extra input message for ${this.entry.kind} method`, Code.Unimplemented));
  }

  /** The buffered body as one buffer. */
  #body(): Buffer {
    const first = this.#first;
    if (first === undefined) return EMPTY;
    const more = this.#more;
    if (more === undefined) return first;
    const all = Buffer.concat([first, ...more], this.#size);
    this.#first = all;
    this.#more = undefined;
    return all;
  }

  #frameError(reader: FrameReader): ConnectError {
    return reader.problem === "oversize"
      ? new ConnectError(`message size ${reader.declared} is larger than configured readMaxBytes ${this.settings.readMaxBytes}`, Code.ResourceExhausted)
      : new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }

  /** @internal End of a single-message request body. */
  onEnd(): void {
    if (this.state !== 0) return;
    let input: unknown;
    try {
      const body = this.#body();
      if (this.#envelope) {
        if (body.length === 0) throw new ConnectError(`protocol error: missing input message for ${this.entry.kind} method`, Code.Unimplemented);
        if (this.#expect < 0 || body.length < this.#expect) throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
        const data = body.subarray(5, this.#expect);
        if ((body[0] & FLAG_COMPRESSED) !== 0) {
          this.#decodeAsync(data);
          return;
        }
        input = this.parse(data);
      } else {
        if (this.reqGzip && body.length > 0) {
          this.#decodeAsync(body);
          return;
        }
        input = this.parse(body);
      }
    } catch (e) {
      this.fail(e);
      return;
    }
    this.#dispatch(input);
  }

  #decodeAsync(data: Buffer): void {
    this.decompress(data).then(
      (plain) => {
        if (this.state !== 0) return;
        let input: unknown;
        try {
          input = this.parse(plain);
        } catch (e) {
          this.fail(e);
          return;
        }
        this.#dispatch(input);
      },
      (e: unknown) => this.fail(e),
    );
  }

  /** Inflates a compressed request message (bounded by readMaxBytes). */
  decompress(data: Buffer): Promise<Buffer> {
    if (!this.reqGzip) {
      return Promise.reject(new ConnectError("protocol error: received compressed message without a message encoding", Code.Internal));
    }
    return gunzipLimited(data, this.settings.readMaxBytes);
  }

  /** Decodes one request message; INVALID_ARGUMENT when it does not parse. */
  parse(data: Uint8Array): unknown {
    try {
      return this.json ? this.entry.parseJson(data) : this.entry.parseBinary(data);
    } catch (e) {
      throw new ConnectError(`protocol error: cannot decode request message: ${e instanceof Error ? e.message : String(e)}`, Code.InvalidArgument);
    }
  }

  #dispatch(input: unknown): void {
    if (this.entry.kind === "server_streaming") {
      this.watchCancel();
      const interceptors = this.settings.interceptors;
      const output = interceptors.length === 0
        ? normalizeIterable(this.entry, this.entry.impl!(input, this.ctx))
        : this.settings.invoker.stream(this.entry, this.ctx, (async function* () { yield input; })());
      this.#pump(output);
      return;
    }
    const interceptors = this.settings.interceptors;
    let out: unknown;
    try {
      out = interceptors.length === 0 ? this.entry.impl!(input, this.ctx) : this.settings.invoker.unary(this.entry, this.ctx, input);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (out !== null && typeof out === "object" && typeof (out as PromiseLike<unknown>).then === "function") {
      (out as Promise<unknown>).then(
        (msg) => this.sendUnary(msg),
        (e: unknown) => this.fail(e),
      );
    } else {
      this.sendUnary(out);
    }
  }

  // ---- streaming requests ----

  #onStreamData(chunk: Buffer): void {
    if (this.state === 2) return;
    const reader = this.#reader!;
    const frames = this.#frames;
    reader.push(chunk, frames);
    if (frames.length > 0) {
      for (const f of frames) this.#stream!.push(f);
      frames.length = 0;
    }
    if (reader.problem !== undefined) {
      const err = this.#frameError(reader);
      this.#stream!.fail(err);
      this.fail(err);
    }
  }

  #onStreamEnd(): void {
    if (this.state === 2) return;
    const reader = this.#reader!;
    reader.finish();
    if (reader.problem !== undefined) {
      const err = this.#frameError(reader);
      this.#stream!.fail(err);
      this.fail(err);
      return;
    }
    this.#stream!.end();
  }

  #runStreaming(rs: RequestStream): void {
    const interceptors = this.settings.interceptors;
    if (interceptors.length > 0) {
      this.#pump(this.settings.invoker.stream(this.entry, this.ctx, rs));
      return;
    }
    if (this.entry.kind === "client_streaming") {
      let out: Promise<unknown>;
      try {
        out = Promise.resolve(this.entry.impl!(rs, this.ctx));
      } catch (e) {
        this.fail(e);
        return;
      }
      out.then((msg) => this.sendUnary(msg), (e: unknown) => this.fail(e));
      return;
    }
    let output: AsyncIterable<unknown>;
    try {
      output = normalizeIterable(this.entry, this.entry.impl!(rs, this.ctx));
    } catch (e) {
      this.fail(e);
      return;
    }
    this.#pump(output);
  }

  // ---- writing ----

  /** Serialises (and maybe compresses) one response message; throws RESOURCE_EXHAUSTED past writeMaxBytes. */
  #serialize(msg: unknown): Uint8Array {
    const bytes = this.json ? this.entry.serializeJson(msg) : this.entry.serializeBinary(msg);
    if (bytes.length > this.settings.writeMaxBytes) {
      throw new ConnectError(`message size ${bytes.length} is larger than configured writeMaxBytes ${this.settings.writeMaxBytes}`, Code.ResourceExhausted);
    }
    return bytes;
  }

  #head(): OutHeaders {
    const p = this.protocol;
    const h: OutHeaders = { "content-type": this.contentType };
    if (p <= GRPC_WEB) {
      h["grpc-accept-encoding"] = ENC_GZIP;
      if (this.resGzip) h["grpc-encoding"] = ENC_GZIP;
    } else if (p === CONNECT_STREAM) {
      h["connect-accept-encoding"] = ENC_GZIP;
      if (this.resGzip) h["connect-content-encoding"] = ENC_GZIP;
    } else {
      h["accept-encoding"] = ENC_GZIP;
    }
    copyUserHeaders(this.ctx.responseHeaderIfAny, h);
    if (this.origin !== undefined && this.settings.cors !== undefined) Object.assign(h, this.settings.cors.responseHeaders(this.origin));
    return h;
  }

  #okTrailers(): OutHeaders {
    const user = this.ctx.responseTrailerIfAny;
    // Node copies trailers before sending them, so the common case shares one frozen object.
    if (user === undefined) return OK_TRAILERS;
    const t: OutHeaders = { "grpc-status": GRPC_OK };
    copyUserHeaders(user, t);
    return t;
  }

  /** Sends a unary (single) response, then ends the call. */
  sendUnary(value: unknown): void {
    if (this.state === 2) return;
    if (this.protocol === CONNECT && this.json) {
      // Keep JSON a string: node:http then writes head and body with one write() instead of writev().
      let text: string;
      let len: number;
      try {
        text = this.entry.serializeJsonText(this.entry.normalize(value));
        len = text.length * 3 <= this.settings.writeMaxBytes ? text.length : Buffer.byteLength(text);
        if (len > this.settings.writeMaxBytes) {
          throw new ConnectError(`message size ${len} is larger than configured writeMaxBytes ${this.settings.writeMaxBytes}`, Code.ResourceExhausted);
        }
      } catch (e) {
        this.fail(e);
        return;
      }
      if (this.resGzip && len >= this.settings.compressMinBytes) {
        gzip(Buffer.from(text)).then((z) => this.#writeUnary(z, true), (e: unknown) => this.fail(e));
        return;
      }
      this.#writeUnary(text, false);
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = this.#serialize(this.entry.normalize(value));
    } catch (e) {
      this.fail(e);
      return;
    }
    if (this.resGzip && bytes.length >= this.settings.compressMinBytes) {
      gzip(bytes).then((z) => this.#writeUnary(z, true), (e: unknown) => this.fail(e));
      return;
    }
    this.#writeUnary(bytes, false);
  }

  #writeUnary(body: Uint8Array | string, compressed: boolean): void {
    if (this.state === 2) return;
    const wire = this.wire;
    const p = this.protocol;
    const h = this.#head();
    if (p === CONNECT) {
      if (compressed) h["content-encoding"] = ENC_GZIP;
      copyUserHeaders(this.ctx.responseTrailerIfAny, h, "trailer-");
      h["content-length"] = typeof body === "string" ? Buffer.byteLength(body) : body.length;
      wire.respond(200, h, false);
      wire.end(body, undefined);
      this.#finish(undefined);
      return;
    }
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    if (p === GRPC) {
      wire.respond(200, h, true);
      wire.end(encodeFrame(compressed ? FLAG_COMPRESSED : 0, bytes), this.#okTrailers());
    } else {
      if (!this.resGzip) compressed = false;
      const frame = encodeFrame(compressed ? FLAG_COMPRESSED : 0, bytes);
      const last = p === GRPC_WEB ? grpcWebTrailerFrame(this.#okTrailers()) : this.#endStreamFrame(undefined);
      wire.respond(200, h, false);
      wire.end(Buffer.concat([frame, last]), undefined);
    }
    this.#finish(undefined);
  }

  #endStreamFrame(err: ConnectError | undefined): Buffer {
    const metadata: Record<string, string[]> = {};
    const add = (value: string, key: string) => {
      if (isProtocolHeader(key)) return;
      (metadata[key] ??= []).push(value);
    };
    this.ctx.responseTrailerIfAny?.forEach(add);
    const body: Record<string, unknown> = {};
    if (err !== undefined) {
      if (!err.isWireError) err.metadata.forEach(add);
      body.error = connectErrorJson(err);
    }
    body.metadata = metadata;
    return encodeFrame(FLAG_END_STREAM, Buffer.from(JSON.stringify(body)));
  }

  /** Writes every message of `output`, then the end of the stream (or the error it threw). */
  async #pump(output: AsyncIterable<unknown>): Promise<void> {
    const wire = this.wire;
    const p = this.protocol;
    try {
      for await (const msg of output) {
        if (this.state === 2) break;
        let bytes = this.#serialize(msg);
        let flags = 0;
        if (this.resGzip && bytes.length >= this.settings.compressMinBytes) {
          bytes = await gzip(bytes);
          flags = FLAG_COMPRESSED;
          if (this.state === 2) break;
        }
        if (this.state === 0) {
          wire.respond(200, this.#head(), p === GRPC);
          this.state = 1;
        }
        if (!wire.write(encodeFrame(flags, bytes))) {
          await new Promise<void>((resolve) => {
            const done = () => {
              wire.events.off("drain", done);
              wire.events.off("close", done);
              resolve();
            };
            wire.events.on("drain", done);
            wire.events.on("close", done);
          });
        }
      }
    } catch (e) {
      this.fail(e);
      return;
    }
    if (this.state === 2) return;
    if (this.state === 0) wire.respond(200, this.#head(), p === GRPC);
    if (p === GRPC) wire.end(undefined, this.#okTrailers());
    else if (p === GRPC_WEB) wire.end(grpcWebTrailerFrame(this.#okTrailers()), undefined);
    else wire.end(this.#endStreamFrame(undefined), undefined);
    this.#finish(undefined);
  }

  /** Answers with an error in the protocol's shape (as trailers if the head is already out), then ends. */
  fail(reason: unknown): void {
    if (this.state === 2) return;
    const err = toConnectError(reason);
    if (!(reason instanceof ConnectError)) this.settings.logger?.error("handler failed", { path: this.entry.path, error: String(reason) });
    const wire = this.wire;
    const p = this.protocol;
    if (p === GRPC) {
      const t: OutHeaders = {};
      copyUserHeaders(this.ctx.responseTrailerIfAny, t);
      grpcErrorTrailers(err, t);
      if (this.state === 0) wire.respondEmpty(200, Object.assign(this.#head(), t));
      else wire.end(undefined, t);
    } else if (p === CONNECT) {
      const h = this.#head();
      h["content-type"] = "application/json";
      if (!err.isWireError) copyUserHeaders(err.metadata, h);
      copyUserHeaders(this.ctx.responseTrailerIfAny, h, "trailer-");
      const body = Buffer.from(JSON.stringify(connectErrorJson(err)));
      h["content-length"] = body.length;
      if (this.state === 0) {
        wire.respond(connectErrorStatus(err), h, false);
        wire.end(body, undefined);
      } else wire.end(undefined, undefined);
    } else {
      let last: Buffer;
      if (p === GRPC_WEB) {
        const t: OutHeaders = {};
        copyUserHeaders(this.ctx.responseTrailerIfAny, t);
        grpcErrorTrailers(err, t);
        last = grpcWebTrailerFrame(t);
      } else last = this.#endStreamFrame(err);
      if (this.state === 0) wire.respond(200, this.#head(), false);
      wire.end(last, undefined);
    }
    this.#finish(err);
  }

  #finish(err: ConnectError | undefined): void {
    this.state = 2;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.ctx.abort(err);
  }
}
