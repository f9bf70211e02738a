// One gRPC call on an HTTP/2 stream, client side: response headers, frames (bounded by readMaxBytes),
// trailers, deadline and cancellation, and the call's final status in the gRPC spec's terms.

import * as http2 from "node:http2";
import { performance } from "node:perf_hooks";
import type { IncomingHttpHeaders } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { gunzipLimited } from "../protocol/index.ts";
import { FLAG_COMPRESSED, FrameReader } from "../protocol/index.ts";
import type { Frame } from "../protocol/index.ts";
import { nodeHeadersToHeaders } from "./codec.ts";
import { statusOf, trailersOf } from "./grpc-status.ts";
import type { ClientCodec } from "./codec.ts";
import { connectionError } from "./session-pool.ts";
import type { SessionPool } from "./session-pool.ts";

const { NGHTTP2_CANCEL } = http2.constants;

/** One gRPC call on the wire. Unary and streaming share it. */
export class GrpcCall {
  readonly #pool: SessionPool;
  readonly #readMaxBytes: number;
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
  #bodySeen = false;
  #deadlineAt = Infinity;

  constructor(pool: SessionPool, readMaxBytes: number, codec: ClientCodec, headers: http2.OutgoingHttpHeaders, signal: AbortSignal | undefined, timeoutMs: number | undefined) {
    this.#pool = pool;
    this.#readMaxBytes = readMaxBytes;
    this.codec = codec;
    this.reader = new FrameReader(readMaxBytes);
    this.#signal = signal;
    let stream: http2.ClientHttp2Stream;
    try {
      this.#session = pool.session();
      stream = this.#session.request(headers);
    } catch (e) {
      pool.release();
      throw connectionError(e, true);
    }
    this.stream = stream;
    stream.on("response", (h) => {
      this.head = h;
      this.#fire();
    });
    stream.on("data", (chunk: Buffer) => {
      this.#bodySeen = true;
      this.reader.push(chunk, this.frames);
      if (this.reader.problem === "oversize") {
        this.abort(new ConnectError(`message size ${this.reader.declared} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted));
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
      pool.release();
      this.#fire();
    });
    if (timeoutMs !== undefined) {
      this.#deadlineAt = performance.now() + timeoutMs;
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
    return statusOf(this.head, this.trailers, this.stream.rstCode, this.#pool.mayHaveReachedServer(this.#session!, this.stream), this.#bodySeen, this.#deadlineAt);
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
      data = await gunzipLimited(data, this.#readMaxBytes);
    }
    try {
      return this.codec.parse(data);
    } catch (e) {
      throw new ConnectError(`cannot decode response message: ${e instanceof Error ? e.message : String(e)}`, Code.Internal, undefined, undefined, e);
    }
  }

  /** The next response message, or undefined at the end (throws the call's error). */
  async read(): Promise<unknown> {
    // The caller's cancel wins even when the whole response had already arrived.
    if (this.localError === undefined && this.#signal?.aborted === true) this.localError = ConnectError.from(this.#signal.reason, Code.Canceled);
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
    return trailersOf(this.head, this.trailers);
  }
}
