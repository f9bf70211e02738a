// One server call, any protocol: reads the request (bounded), runs the handler; call-response.ts writes
// the response in the protocol's shape and maps every failure to a status. The hot path (unary, no interceptors, no
// timeout header, nothing read from the context) allocates the call, its context and the buffers, and
// nothing else per call: no AbortController, no Headers, no per-call timers.

import { Code, ConnectError } from "@connectrpc/connect";
import { CallResponder } from "./call-response.ts";
import { CallState, Protocol } from "./protocols.ts";
import { acceptsGzip, gunzipLimited, requestIsGzip } from "./compression.ts";
import { FLAG_COMPRESSED, FrameReader } from "./envelope.ts";
import type { Frame } from "./envelope.ts";
import { normalizeIterable } from "./invoke.ts";
import { RequestStream } from "./request-stream.ts";
import { parseTimeoutHeader } from "../engine/index.ts";

export type { CallSettings } from "./call-response.ts";

const EMPTY = Buffer.alloc(0);
const kCall = Symbol("weft.call");
type CallCarrier = { [kCall]?: ServerCall };

function onBodyData(this: CallCarrier, chunk: Buffer): void {
  this[kCall]!.onData(chunk);
}

function onBodyEnd(this: CallCarrier): void {
  this[kCall]!.onEnd();
}

/** Shared 'close' listener of the call's response (no closure per call): the client went away. */
function onWireClose(this: CallCarrier): void {
  this[kCall]!.onClose();
}

function onDeadline(call: ServerCall): void {
  call.timer = undefined;
  call.fail(new ConnectError("the operation timed out", Code.DeadlineExceeded));
}

/** Runs a unary call's interceptors and handler; a module function, so a hook scope needs no closure. */
function invokeUnary(call: ServerCall, input: unknown): unknown {
  const settings = call.settings;
  return settings.interceptors.length === 0 ? call.entry.impl!(input, call.ctx) : settings.invoker.unary(call.entry, call.ctx, input);
}

/** Runs a server-streaming call's interceptors and handler, returning its output messages. */
function invokeServerStream(call: ServerCall, input: unknown): AsyncIterable<unknown> {
  const settings = call.settings;
  return settings.interceptors.length === 0
    ? normalizeIterable(call.entry, call.entry.impl!(input, call.ctx))
    : settings.invoker.stream(call.entry, call.ctx, (async function* () { yield input; })());
}

function runStreamingCall(call: ServerCall, rs: RequestStream): void {
  call.runStreamingHandler(rs);
}

/** A deferred call starts unless it ended meanwhile (client gone, deadline). */
function startDeferred(call: ServerCall, input: unknown): void {
  if (call.state === CallState.reading) call.invoke(input);
}

function startDeferredStreaming(call: ServerCall, rs: RequestStream): void {
  call.startStreaming(rs);
}

/** A server call: the request half (headers, bounded body, decoding, dispatch to the handler). */
export class ServerCall extends CallResponder {
  // Single-message bodies: the first chunk, then any further ones (most requests are one chunk).
  #first: Buffer | undefined = undefined;
  #more: Buffer[] | undefined = undefined;
  #size = 0;
  /** Enveloped single message: total bytes expected (5 + declared length), -1 until the header is in. */
  #expect = -1;
  #envelope = false;
  #reader: FrameReader | undefined = undefined;
  #frames: Frame[] | undefined = undefined;
  #stream: RequestStream | undefined = undefined;
  #watching = false;

  /** Validates the headers and starts reading the body (POST). */
  start(): void {
    const h = this.wire.headers;
    const p = this.protocol;
    try {
      const grpcish = p <= Protocol.grpcWeb;
      const ms = parseTimeoutHeader(grpcish ? h["grpc-timeout"] : h["connect-timeout-ms"], grpcish, this.settings.maxTimeoutMs);
      if (ms !== undefined) this.#setDeadline(ms);
      if (grpcish) {
        this.reqGzip = requestIsGzip(h["grpc-encoding"]);
        this.resGzip = acceptsGzip(h["grpc-accept-encoding"]);
      } else if (p === Protocol.connect) {
        this.reqGzip = requestIsGzip(h["content-encoding"]);
        this.resGzip = acceptsGzip(h["accept-encoding"]);
      } else {
        this.reqGzip = requestIsGzip(h["connect-content-encoding"]);
        this.resGzip = acceptsGzip(h["connect-accept-encoding"]);
      }
      if (this.entry.impl === undefined) throw new ConnectError(`${this.entry.path} is not implemented`, Code.Unimplemented);
      if (p === Protocol.connect) {
        const len = h["content-length"];
        if (len !== undefined && Number(len) > this.readLimit) {
          throw new ConnectError(`message size ${len} is larger than configured readMaxBytes ${this.readLimit}`, Code.ResourceExhausted);
        }
      }
    } catch (e) {
      this.fail(e);
      return;
    }
    const body = this.wire.body;
    const kind = this.entry.kind;
    if (kind === "unary" || kind === "server_streaming") {
      this.#envelope = p !== Protocol.connect;
      this.settings.bodies?.wait(this);
      // Shared listeners find the call on the stream: no closures per call on the hot path.
      (body as CallCarrier)[kCall] = this;
      body.on("data", onBodyData);
      body.on("end", onBodyEnd);
    } else {
      this.#reader = new FrameReader(this.readLimit);
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
      if (!gzipped && message.length > this.readLimit) {
        throw new ConnectError(`message size ${message.length} is larger than configured readMaxBytes ${this.readLimit}`, Code.ResourceExhausted);
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
    const events = this.wire.events as CallCarrier & NodeJS.EventEmitter;
    events[kCall] = this;
    events.on("close", onWireClose);
  }

  /** @internal The exchange closed: if the call is not over, the client went away. */
  onClose(): void {
    if (this.state === CallState.over) return;
    const err = new ConnectError("the client canceled the call", Code.Canceled);
    this.#stream?.fail(err);
    this.finish(err);
  }

  /**
   * Asks the host's gate to admit the call (right before the interceptor chain, as the host's own
   * interceptors used to run). A refused call is answered and false returned. A counted call that
   * outlives the current tick is watched for client cancellation (see #watchIfPending), so a vanished
   * client does not hold a drain open.
   */
  #admit(): boolean {
    try {
      this.counted = this.settings.calls.enter(this.entry.service);
      const hooks = this.settings.hooks;
      if (this.counted && hooks !== undefined && !hooks.exempt.has(this.entry.service.typeName)) {
        this.hookTokens = hooks.begin(this.entry.service, this.ctx);
      }
    } catch (e) {
      this.fail(e);
      return false;
    }
    return true;
  }

  /** True when the handler must run inside the call hooks' scope. */
  #scoped(): boolean {
    return this.hookTokens !== undefined && this.settings.hooks!.scoped;
  }

  /**
   * A counted call still running after this tick is watched for client cancellation. A call that ended
   * in the same tick (a synchronous unary handler) never needs the 'close' listener: no event can come
   * in between, so it is not added (one listener less per call on the hot path).
   */
  watchIfPending(): void {
    if (this.counted && this.state !== CallState.over) this.watchCancel();
  }

  /** Largest request message of this call: the method's limit for its encoding. */
  get readLimit(): number {
    return this.json ? this.entry.jsonReadMaxBytes : this.entry.readMaxBytes;
  }

  /** @internal Its body did not arrive in time: answer DEADLINE_EXCEEDED, then drop the request's stream. */
  bodyTimedOut(timeoutMs: number): void {
    if (this.state !== CallState.reading) return;
    this.wire.dropRequest();
    this.fail(new ConnectError(`request body not received within ${timeoutMs} ms`, Code.DeadlineExceeded));
  }

  /** @internal Body chunk of a single-message request. */
  onData(chunk: Buffer): void {
    if (this.state !== CallState.reading) return;
    const size = (this.#size += chunk.length);
    if (this.#first === undefined) this.#first = chunk;
    else (this.#more ??= []).push(chunk);
    const limit = this.readLimit;
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
      ? new ConnectError(`message size ${reader.declared} is larger than configured readMaxBytes ${this.readLimit}`, Code.ResourceExhausted)
      : new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }

  /** @internal End of a single-message request body. */
  onEnd(): void {
    if (this.state !== CallState.reading) return;
    if (this.bodySince >= 0) this.settings.bodies!.done(this);
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
        if (this.state !== CallState.reading) return;
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
    return gunzipLimited(data, this.readLimit, this.settings.maxDecompressionRatio);
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
    if (!this.#admit()) return;
    const admitting = this.#admitting();
    if (admitting !== undefined) {
      this.watchCancel();
      admitting.then(() => startDeferred(this, input), (e: unknown) => this.#refuseLate(e));
      return;
    }
    if (this.#deferred()) {
      this.watchCancel();
      setImmediate(startDeferred, this, input);
      return;
    }
    this.invoke(input);
  }

  /** A hook's asynchronous admission of this call (a shared rate limit), or undefined to start now. */
  #admitting(): Promise<void> | undefined {
    const tokens = this.hookTokens;
    return tokens === undefined ? undefined : this.settings.hooks!.admit(tokens, this.ctx);
  }

  /** A hook refused the call after a wait: answer it unless it already ended (client gone, deadline). */
  #refuseLate(e: unknown): void {
    if (this.state !== CallState.over) this.fail(e);
  }

  /** True when a call hook asked for this call to start after the current turn's I/O. */
  #deferred(): boolean {
    const tokens = this.hookTokens;
    return tokens !== undefined && this.settings.hooks!.defers(tokens);
  }

  /** @internal Runs the admitted single-request call: interceptors, handler, response. */
  invoke(input: unknown): void {
    if (this.entry.kind === "server_streaming") {
      this.watchCancel();
      let output: AsyncIterable<unknown>;
      try {
        output = this.#scoped() ? this.settings.hooks!.scope(this.ctx, invokeServerStream, this, input) : invokeServerStream(this, input);
      } catch (e) {
        this.fail(e);
        return;
      }
      this.pump(output);
      return;
    }
    let out: unknown;
    try {
      out = this.#scoped() ? this.settings.hooks!.scope(this.ctx, invokeUnary, this, input) : invokeUnary(this, input);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (out !== null && typeof out === "object" && typeof (out as PromiseLike<unknown>).then === "function") {
      this.watchIfPending();
      (out as Promise<unknown>).then(
        (msg) => this.sendUnary(msg),
        (e: unknown) => this.fail(e),
      );
    } else {
      this.sendUnary(out);
    }
  }

  #onStreamData(chunk: Buffer): void {
    if (this.state === CallState.over) return;
    const reader = this.#reader!;
    const frames = (this.#frames ??= []);
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
    if (this.state === CallState.over) return;
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
    if (!this.#admit()) return;
    const admitting = this.#admitting();
    if (admitting !== undefined) {
      admitting.then(() => startDeferredStreaming(this, rs), (e: unknown) => this.#refuseLate(e));
      return;
    }
    if (this.#deferred()) {
      setImmediate(startDeferredStreaming, this, rs);
      return;
    }
    this.startStreaming(rs);
  }

  /** @internal Runs the admitted streaming call (inside the hooks' scope, if any). */
  startStreaming(rs: RequestStream): void {
    if (this.state === CallState.over) return;
    if (this.#scoped()) {
      this.settings.hooks!.scope(this.ctx, runStreamingCall, this, rs);
      return;
    }
    this.runStreamingHandler(rs);
  }

  /** @internal Runs a client- or bidi-streaming handler (inside the hooks' scope, if any). */
  runStreamingHandler(rs: RequestStream): void {
    const interceptors = this.settings.interceptors;
    if (interceptors.length > 0) {
      this.pump(this.settings.invoker.stream(this.entry, this.ctx, rs));
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
    this.pump(output);
  }

}
