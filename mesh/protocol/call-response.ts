// The response half of a server call: writes messages, trailers and errors in the shape of the call's
// protocol (gRPC trailers, gRPC-Web trailer frame, Connect unary status + JSON error, Connect end-stream
// message), with compression and writeMaxBytes, and ends the call (timer, signal). call.ts adds the
// request half.

import type { BodyDeadlines } from "./body-deadlines.ts";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import { gzip } from "./compression.ts";
import { CallState, Protocol, PROTOCOL_NAMES } from "./protocols.ts";
import { FLAG_COMPRESSED, FLAG_END_STREAM, FLAG_TRAILER, encodeFrame } from "./envelope.ts";
import { connectErrorJson, connectErrorStatus, copyUserHeaders, grpcErrorTrailers, isProtocolHeader } from "./errors.ts";
import { LazyHandlerContext } from "./handler-context.ts";
import type { ContextOwner } from "./handler-context.ts";
import type { Invoker } from "./invoke.ts";
import type { MethodEntry } from "./method-table.ts";
import type { OutHeaders, Wire } from "./wire.ts";
import type { ShutdownWatch } from "./shutdown-watch.ts";
import type { CorsPolicy, ComposedCallHooks, CallGate, HostLogger } from "../engine/index.ts";


/** Per-engine settings every call reads. */
export interface CallSettings {
  readonly interceptors: Interceptor[];
  /** Runs calls through `interceptors` (chains built once per method). */
  readonly invoker: Invoker;
  readonly writeMaxBytes: number;
  readonly maxTimeoutMs: number;
  /** Cap on a request message's inflation ratio (compression.ts); 0 = none. */
  readonly maxDecompressionRatio: number;
  /** Calls waiting for their request body, when the host limits that time. */
  readonly bodies: BodyDeadlines | undefined;
  readonly compressMinBytes: number;
  readonly cors: CorsPolicy | undefined;
  /** The server's shutdown, which aborts the signal of every call whose handler holds one. */
  readonly shutdown: ShutdownWatch;
  readonly logger: HostLogger | undefined;
  /** The host's admission, in-flight accounting and error sanitising (called directly, not as interceptors). */
  readonly calls: CallGate;
  /** The host's call hooks, if any (begun after the gate counts a call, ended in finish()). */
  readonly hooks: ComposedCallHooks | undefined;
}

const GRPC_OK = "0";
const OK_TRAILERS: OutHeaders = Object.freeze({ "grpc-status": GRPC_OK }) as OutHeaders;
const ENC_GZIP = "gzip";

/** True when `h` holds at least one header. */
function hasEntries(h: Headers | undefined): boolean {
  if (h === undefined) return false;
  let any = false;
  h.forEach(() => {
    any = true;
  });
  return any;
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

/** Response writing and call completion, shared by every protocol. */
export abstract class CallResponder implements ContextOwner {
  readonly wire: Wire;
  readonly entry: MethodEntry;
  readonly settings: CallSettings;
  readonly protocol: Protocol;
  readonly json: boolean;
  readonly ctx: LazyHandlerContext;
  readonly contentType: string;
  readonly origin: string | undefined;
  state: CallState = CallState.reading;
  timer: NodeJS.Timeout | undefined = undefined;
  reqGzip = false;
  resGzip = false;
  /** True while the call is counted as in flight by the host's gate (it must leave exactly once). */
  counted = false;
  /** The call hooks' tokens while they are begun (they must end exactly once). */
  hookTokens: unknown[] | undefined = undefined;
  /** When the call started waiting for its request body (BodyDeadlines), -1 when it is not waiting. */
  bodySince = -1;

  constructor(wire: Wire, entry: MethodEntry, settings: CallSettings, protocol: Protocol, json: boolean, contentType: string, requestMethod: string, authority: string) {
    this.wire = wire;
    this.entry = entry;
    this.settings = settings;
    this.protocol = protocol;
    this.json = json;
    this.contentType = contentType;
    this.origin = wire.headers.origin;
    this.ctx = new LazyHandlerContext(entry.method, PROTOCOL_NAMES[protocol], requestMethod, wire.headers, authority, this, settings.shutdown);
    this.ctx.peerIdentity = wire.peerIdentity;
  }

  /** The caller's IP address (read only when a hook or handler asks). */
  get peerAddress(): string | undefined {
    return this.wire.peerAddress;
  }

  /** The request body did not arrive within the host's requestBodyTimeoutMs (the request half knows how to drop it). */
  abstract bodyTimedOut(timeoutMs: number): void;

  /** Starts watching for client cancellation (the request half knows how). */
  abstract watchCancel(): void;

  /** Watches for client cancellation if the call is counted and not over (it is about to go async). */
  abstract watchIfPending(): void;

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
    if (p <= Protocol.grpcWeb) {
      h["grpc-accept-encoding"] = ENC_GZIP;
      if (this.resGzip) h["grpc-encoding"] = ENC_GZIP;
    } else if (p === Protocol.connectStream) {
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
    if (this.state === CallState.over) return;
    if (this.protocol === Protocol.connect && this.json) {
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
        this.watchIfPending();
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
      this.watchIfPending();
      gzip(bytes).then((z) => this.#writeUnary(z, true), (e: unknown) => this.fail(e));
      return;
    }
    this.#writeUnary(bytes, false);
  }

  #writeUnary(body: Uint8Array | string, compressed: boolean): void {
    if (this.state === CallState.over) return;
    const wire = this.wire;
    const p = this.protocol;
    const h = this.#head();
    if (p === Protocol.connect) {
      if (compressed) h["content-encoding"] = ENC_GZIP;
      copyUserHeaders(this.ctx.responseTrailerIfAny, h, "trailer-");
      h["content-length"] = typeof body === "string" ? Buffer.byteLength(body) : body.length;
      wire.respond(200, h, false);
      wire.end(body, undefined);
      this.finish(undefined);
      return;
    }
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    if (p === Protocol.grpc) {
      wire.respond(200, h, true);
      wire.end(encodeFrame(compressed ? FLAG_COMPRESSED : 0, bytes), this.#okTrailers());
    } else {
      if (!this.resGzip) compressed = false;
      const frame = encodeFrame(compressed ? FLAG_COMPRESSED : 0, bytes);
      const last = p === Protocol.grpcWeb ? grpcWebTrailerFrame(this.#okTrailers()) : this.#endStreamFrame(undefined);
      wire.respond(200, h, false);
      wire.end(Buffer.concat([frame, last]), undefined);
    }
    this.finish(undefined);
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
  async pump(output: AsyncIterable<unknown>): Promise<void> {
    const wire = this.wire;
    const p = this.protocol;
    try {
      for await (const msg of output) {
        if (this.state === CallState.over) break;
        let bytes = this.#serialize(msg);
        let flags = 0;
        if (this.resGzip && bytes.length >= this.settings.compressMinBytes) {
          bytes = await gzip(bytes);
          flags = FLAG_COMPRESSED;
          // The call may have ended while gzip ran (the cast undoes narrowing across the await).
          if ((this.state as CallState) === CallState.over) break;
        }
        if (this.state === CallState.reading) {
          wire.respond(200, this.#head(), p === Protocol.grpc);
          this.state = CallState.headSent;
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
    if (this.state === CallState.over) return;
    if (this.state === CallState.reading) wire.respond(200, this.#head(), p === Protocol.grpc);
    if (p === Protocol.grpc) wire.end(undefined, this.#okTrailers());
    else if (p === Protocol.grpcWeb) wire.end(grpcWebTrailerFrame(this.#okTrailers()), undefined);
    else wire.end(this.#endStreamFrame(undefined), undefined);
    this.finish(undefined);
  }

  // Inside the hooks' scope (when begun), so that the log line of an unexpected error carries the call's trace.
  #sanitize(reason: unknown): ConnectError {
    const { calls, hooks } = this.settings;
    const sanitize = () => calls.sanitize(reason, this.entry.path, this.ctx.abortReason);
    return this.hookTokens !== undefined && hooks!.scoped ? hooks!.scope(this.ctx, sanitize) : sanitize();
  }

  /** Answers with an error in the protocol's shape (as trailers if the head is already out), then ends. */
  fail(reason: unknown): void {
    if (this.state === CallState.over) return;
    const err = reason instanceof ConnectError ? reason : this.#sanitize(reason);
    const wire = this.wire;
    const p = this.protocol;
    if (p === Protocol.grpc) {
      const t: OutHeaders = {};
      copyUserHeaders(this.ctx.responseTrailerIfAny, t);
      grpcErrorTrailers(err, t);
      if (this.state === CallState.reading && !hasEntries(this.ctx.responseHeaderIfAny)) wire.respondEmpty(200, Object.assign(this.#head(), t));
      else {
        // Response headers a handler set stay headers: a trailers-only answer would turn them into trailers.
        if (this.state === CallState.reading) wire.respond(200, this.#head(), true);
        wire.end(undefined, t);
      }
    } else if (p === Protocol.connect) {
      const h = this.#head();
      h["content-type"] = "application/json";
      if (!err.isWireError) copyUserHeaders(err.metadata, h);
      copyUserHeaders(this.ctx.responseTrailerIfAny, h, "trailer-");
      const body = Buffer.from(JSON.stringify(connectErrorJson(err)));
      h["content-length"] = body.length;
      if (this.state === CallState.reading) {
        wire.respond(connectErrorStatus(err), h, false);
        wire.end(body, undefined);
      } else wire.end(undefined, undefined);
    } else {
      let last: Buffer;
      if (p === Protocol.grpcWeb) {
        const t: OutHeaders = {};
        copyUserHeaders(this.ctx.responseTrailerIfAny, t);
        grpcErrorTrailers(err, t);
        last = grpcWebTrailerFrame(t);
      } else last = this.#endStreamFrame(err);
      if (this.state === CallState.reading) wire.respond(200, this.#head(), false);
      wire.end(last, undefined);
    }
    this.finish(err);
  }

  /**
   * Marks the call over: stops its deadline timer, aborts its signal (if anyone holds it) and tells the
   * host's gate the call left.
   */
  finish(err: ConnectError | undefined): void {
    this.state = CallState.over;
    if (this.bodySince >= 0) this.settings.bodies!.done(this);
    const tokens = this.hookTokens;
    if (tokens !== undefined) {
      this.hookTokens = undefined;
      this.settings.hooks!.end(tokens, err);
    }
    if (this.counted) {
      this.counted = false;
      this.settings.calls.leave();
    }
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.ctx.abort(err);
  }
}
