// One unary gRPC call, client side, on the hot path: the request goes out in one write, the response
// body is buffered (bounded by readMaxBytes, checked on the frame header), and a single promise settles
// when the stream closes. Listeners are shared functions that find the call on the stream, so a call
// allocates no closures; the streaming path (grpc-call.ts) keeps its general reader.

import * as http2 from "node:http2";
import { performance } from "node:perf_hooks";
import type { IncomingHttpHeaders } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { gunzipLimited } from "../protocol/index.ts";
import { FLAG_COMPRESSED } from "../protocol/index.ts";
import { nodeHeadersToHeaders } from "./codec.ts";
import type { ClientCodec } from "./codec.ts";
import { statusOf, trailersOf, withHeadMetadata } from "./grpc-status.ts";
import { connectionError } from "./session-pool.ts";
import type { SessionPool } from "./session-pool.ts";

const { NGHTTP2_CANCEL } = http2.constants;
const kCall = Symbol("weft.unaryCall");
type Carrier = http2.ClientHttp2Stream & { [kCall]?: GrpcUnaryCall };

function onResponse(this: Carrier, head: IncomingHttpHeaders): void {
  this[kCall]!.head = head;
}
function onData(this: Carrier, chunk: Buffer): void {
  this[kCall]!.onData(chunk);
}
function onTrailers(this: Carrier, trailers: IncomingHttpHeaders): void {
  this[kCall]!.trailers = trailers;
}
function onClose(this: Carrier): void {
  this[kCall]!.onClose();
}
function ignore(): void {}
function onDeadline(call: GrpcUnaryCall): void {
  call.timer = undefined;
  call.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
}

/** A unary call: `result` settles with the decoded response message or the call's error. */
export class GrpcUnaryCall {
  readonly #pool: SessionPool;
  readonly #readMaxBytes: number;
  readonly #codec: ClientCodec;
  readonly #session: http2.ClientHttp2Session;
  readonly #stream: Carrier;
  readonly #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined = undefined;
  head: IncomingHttpHeaders | undefined = undefined;
  trailers: IncomingHttpHeaders | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  #deadlineAt = Infinity;
  // The response body: nearly always one chunk.
  #first: Buffer | undefined = undefined;
  #more: Buffer[] | undefined = undefined;
  #size = 0;
  /** 5 + the first frame's declared length, -1 until its header is in. */
  #expect = -1;
  #localError: ConnectError | undefined = undefined;
  #settled = false;
  #resolve!: (message: unknown) => void;
  #reject!: (err: ConnectError) => void;
  readonly result: Promise<unknown>;

  /** Sends `frame` (the enveloped request) on a new stream of the pool's session. The slot is already acquired. */
  constructor(pool: SessionPool, readMaxBytes: number, codec: ClientCodec, headers: http2.OutgoingHttpHeaders, frame: Buffer, signal: AbortSignal | undefined, timeoutMs: number | undefined) {
    this.#pool = pool;
    this.#readMaxBytes = readMaxBytes;
    this.#codec = codec;
    this.#signal = signal;
    this.result = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    let stream: Carrier;
    try {
      this.#session = pool.session();
      stream = this.#session.request(headers) as Carrier;
    } catch (e) {
      pool.release();
      throw connectionError(e, true);
    }
    this.#stream = stream;
    stream[kCall] = this;
    stream.on("response", onResponse);
    stream.on("data", onData);
    stream.on("trailers", onTrailers);
    stream.on("error", ignore);
    stream.on("close", onClose);
    if (timeoutMs !== undefined) {
      this.#deadlineAt = performance.now() + timeoutMs;
      this.timer = setTimeout(onDeadline, timeoutMs, this);
    }
    if (signal !== undefined) {
      if (signal.aborted) this.abort(ConnectError.from(signal.reason, Code.Canceled));
      else {
        this.#onAbort = () => this.abort(ConnectError.from(signal.reason, Code.Canceled));
        signal.addEventListener("abort", this.#onAbort, { once: true });
      }
    }
    stream.end(frame);
  }

  /** @internal A response body chunk. */
  onData(chunk: Buffer): void {
    if (this.#localError !== undefined) return;
    const size = (this.#size += chunk.length);
    if (this.#first === undefined) this.#first = chunk;
    else (this.#more ??= []).push(chunk);
    if (this.#expect < 0 && size >= 5) {
      const declared = this.#body().readUInt32BE(1);
      if (declared > this.#readMaxBytes) {
        this.abort(new ConnectError(`message size ${declared} is larger than configured readMaxBytes ${this.#readMaxBytes}`, Code.ResourceExhausted));
        return;
      }
      this.#expect = 5 + declared;
    }
    if (this.#expect >= 0 && size > this.#expect) {
      this.abort(new ConnectError("protocol error: received extra output message for unary method", Code.Unimplemented));
    }
  }

  #body(): Buffer {
    const first = this.#first!;
    if (this.#more === undefined) return first;
    const all = Buffer.concat([first, ...this.#more], this.#size);
    this.#first = all;
    this.#more = undefined;
    return all;
  }

  /** Ends the call locally with `err` and resets the stream. */
  abort(err: ConnectError): void {
    if (this.#settled || this.#localError !== undefined) return;
    this.#localError = err;
    if (!this.#stream.destroyed) this.#stream.close(NGHTTP2_CANCEL);
    this.#settle(err, undefined);
  }

  /** @internal The stream closed: release the slot, then settle from what arrived. */
  onClose(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.#onAbort !== undefined) this.#signal!.removeEventListener("abort", this.#onAbort);
    this.#pool.release();
    if (this.#settled) return;
    const err = statusOf(this.head, this.trailers, this.#stream.rstCode, this.#pool.mayHaveReachedServer(this.#session, this.#stream), this.#size > 0, this.#deadlineAt);
    if (err !== undefined) {
      this.#settle(withHeadMetadata(err, this.head), undefined);
      return;
    }
    if (this.#size === 0) {
      this.#settle(new ConnectError("protocol error: missing output message for unary method", Code.Unimplemented), undefined);
      return;
    }
    if (this.#expect < 0 || this.#size < this.#expect) {
      this.#settle(new ConnectError("protocol error: incomplete envelope", Code.Internal), undefined);
      return;
    }
    const body = this.#body();
    const data = body.subarray(5, this.#expect);
    if ((body[0] & FLAG_COMPRESSED) === 0) {
      this.#decode(data);
      return;
    }
    if (this.head?.["grpc-encoding"] !== "gzip") {
      this.#settle(new ConnectError("protocol error: received compressed message without grpc-encoding", Code.Internal), undefined);
      return;
    }
    gunzipLimited(data, this.#readMaxBytes).then(
      (plain) => this.#decode(plain),
      (e: unknown) => this.#settle(ConnectError.from(e, Code.Internal), undefined),
    );
  }

  #decode(data: Uint8Array): void {
    let message: unknown;
    try {
      message = this.#codec.parse(data);
    } catch (e) {
      this.#settle(new ConnectError(`cannot decode response message: ${e instanceof Error ? e.message : String(e)}`, Code.Internal, undefined, undefined, e), undefined);
      return;
    }
    this.#settle(undefined, message);
  }

  #settle(err: ConnectError | undefined, message: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    if (err !== undefined) this.#reject(err);
    else this.#resolve(message);
  }

  /** Response headers as Headers (built when read). */
  responseHeader(): Headers {
    return nodeHeadersToHeaders(this.head);
  }

  /** Response trailers as Headers (a trailers-only response carries them in the head). */
  responseTrailer(): Headers {
    return trailersOf(this.head, this.trailers);
  }
}
