// The two places bytes go: a raw HTTP/2 stream, or an HTTP/1.1 request/response pair. The engine
// speaks to both through the same five calls so the protocol code is written once.

import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { constants as http2constants, type ServerHttp2Stream } from "node:http2";
import type { Readable } from "node:stream";

/** Outgoing headers as a plain object (lower-case names). */
export type OutHeaders = Record<string, string | string[] | number>;

/** The transport side of one call. */
export interface Wire {
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
  /** "h2" or "h1" (gRPC needs trailers, which HTTP/1.1 only has with chunked encoding). */
  readonly h2: boolean;
  /** Sends the response head. With `trailers`, the body must be ended with `end(.., trailers)`. */
  respond(status: number, headers: OutHeaders, trailers: boolean): void;
  /** Sends the head and ends the response with no body (trailers-only gRPC, empty errors). */
  respondEmpty(status: number, headers: OutHeaders): void;
  /** Writes body bytes; false means wait for `drain` before writing more. */
  write(data: Uint8Array): boolean;
  /** Ends the body, with trailers if the head announced them. */
  end(data: Uint8Array | string | undefined, trailers: OutHeaders | undefined): void;
  /** True once the peer went away or the response is over. */
  readonly closed: boolean;
  /** Emits 'close' when the exchange is over, 'drain' when writable again. */
  readonly events: NodeJS.EventEmitter;
  /** The caller's IP address, if the socket is still there (read on demand, never per call). */
  readonly peerAddress: string | undefined;
  /**
   * The rest of the request will not be read: once the response is out, reset the HTTP/2 stream
   * (NO_ERROR) or close the HTTP/1.1 connection. Call before the response head is sent.
   */
  dropRequest(): void;
}

/** Resets a stream whose response is complete (RST_STREAM NO_ERROR) so its unread request ends too. */
function resetAfterResponse(stream: ServerHttp2Stream): void {
  if (!stream.destroyed) stream.close(http2constants.NGHTTP2_NO_ERROR);
}

const WAIT_FOR_TRAILERS = { waitForTrailers: true };
const kTrailers = Symbol("weft.trailers");
const NO_TRAILERS = Object.freeze({});

type TrailerStream = ServerHttp2Stream & { [kTrailers]?: OutHeaders };

/** Shared 'wantTrailers' listener (no closure per call): sends what `end()` stored on the stream. */
function sendStoredTrailers(this: TrailerStream): void {
  if (!this.destroyed) this.sendTrailers((this[kTrailers] ?? NO_TRAILERS) as OutgoingHttpHeaders);
}
const END_STREAM = { endStream: true };

/** A raw HTTP/2 stream (the `stream` event, not the compat API). */
export class H2Wire implements Wire {
  readonly headers: IncomingHttpHeaders;
  readonly body: ServerHttp2Stream;
  readonly h2 = true;
  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders) {
    this.body = stream;
    this.headers = headers;
  }

  get events(): NodeJS.EventEmitter {
    return this.body;
  }

  get peerAddress(): string | undefined {
    return this.body.session?.socket?.remoteAddress;
  }

  get closed(): boolean {
    return this.body.destroyed || this.body.closed;
  }

  respond(status: number, headers: OutHeaders, trailers: boolean): void {
    const stream = this.body;
    if (stream.destroyed || stream.headersSent) return;
    headers[":status"] = status;
    if (trailers) {
      stream.respond(headers as OutgoingHttpHeaders, WAIT_FOR_TRAILERS);
      // 'wantTrailers' fires at most once per stream: `on` spares the wrapper closure `once` allocates.
      stream.on("wantTrailers", sendStoredTrailers);
    } else {
      stream.respond(headers as OutgoingHttpHeaders);
    }
  }

  respondEmpty(status: number, headers: OutHeaders): void {
    const stream = this.body;
    if (stream.destroyed || stream.headersSent) return;
    headers[":status"] = status;
    stream.respond(headers as OutgoingHttpHeaders, END_STREAM);
    // Discard whatever request body is still coming so flow control does not stall the session.
    stream.resume();
  }

  write(data: Uint8Array): boolean {
    if (this.body.destroyed) return true;
    return this.body.write(data);
  }

  dropRequest(): void {
    const stream = this.body;
    // After 'finish' the response's frames are with nghttp2; the reset follows them on the next turn.
    stream.once("finish", () => setImmediate(resetAfterResponse, stream));
  }

  end(data: Uint8Array | string | undefined, trailers: OutHeaders | undefined): void {
    if (this.body.destroyed) return;
    (this.body as TrailerStream)[kTrailers] = trailers;
    if (data === undefined) this.body.end();
    else this.body.end(data);
  }
}

/** An HTTP/1.1 exchange (node:http `request` event). */
export class H1Wire implements Wire {
  readonly headers: IncomingHttpHeaders;
  readonly body: IncomingMessage;
  readonly h2 = false;
  readonly res: ServerResponse;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.body = req;
    this.headers = req.headers;
    this.res = res;
  }

  get events(): NodeJS.EventEmitter {
    return this.res;
  }

  get peerAddress(): string | undefined {
    return this.body.socket?.remoteAddress;
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  respond(status: number, headers: OutHeaders, trailers: boolean): void {
    if (this.res.headersSent) return;
    if (trailers) headers["trailer"] = "grpc-status, grpc-message, grpc-status-details-bin";
    this.res.writeHead(status, headers as OutgoingHttpHeaders);
  }

  respondEmpty(status: number, headers: OutHeaders): void {
    if (this.res.headersSent) return;
    headers["content-length"] = 0;
    this.res.writeHead(status, headers as OutgoingHttpHeaders);
    this.res.end();
  }

  write(data: Uint8Array): boolean {
    if (this.res.destroyed) return true;
    return this.res.write(data);
  }

  dropRequest(): void {
    // `Connection: close`, and the socket goes once the response is written (the body never will be).
    this.res.shouldKeepAlive = false;
    const socket = this.res.socket;
    this.res.once("finish", () => setImmediate(() => socket?.destroy()));
  }

  end(data: Uint8Array | string | undefined, trailers: OutHeaders | undefined): void {
    if (this.res.destroyed) return;
    if (trailers !== undefined) this.res.addTrailers(trailers as OutgoingHttpHeaders);
    if (data === undefined) this.res.end();
    else this.res.end(data);
  }
}
