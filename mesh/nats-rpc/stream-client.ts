// The caller's side of one stream over NATS (server, client or bidi streaming): a single-consumer
// async iterator over the messages the server sends; credit replies for its input go to the owner. It buffers at most `window` messages (the server never sends more than
// the credit granted), grants credit as its consumer takes messages, checks every message's seq (a
// gap means NATS dropped one: the stream fails rather than go on silently), and cancels the stream
// on the server when its consumer stops early, its signal fires or its deadline passes.

import type { DescMessage, DescMethodStreaming, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamResponse } from "@connectrpc/connect";
import type { MessageCodec } from "../codec/index.ts";
import { MessageQueue } from "./message-queue.ts";
import { metadataOf, type ReplyEnvelope } from "./envelope.ts";
import { readMetadata } from "./wire.ts";

type DescMessageShape = MessageShape<DescMessage>;

/** What a stream needs from the client that owns it. */
export interface StreamOwner {
  /** Sends a credit (`messages` > 0) or, with 0, a cancel for this stream to the server. */
  control(messages: number): void;
  /** Forgets the stream; `done` when the server sent its end (the reply slot may be reused). */
  finish(done: boolean): void;
  /** The server may take `messages` more of the caller's messages (client and bidi streams). */
  credit?(messages: number): void;
}

/** One server stream, from the caller's side. */
export class NatsClientStream implements AsyncIterableIterator<DescMessageShape> {
  readonly callId: number;
  readonly instanceId: string;
  /** When the stream is given up for lack of messages, without a deadline (refreshed per message). */
  subject = "";
  expiresAt: number;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  readonly #method: DescMethodStreaming;
  readonly #output: MessageCodec<DescMessage>;
  readonly #owner: StreamOwner;
  readonly #window: number;
  readonly #idleMs: number;
  readonly #trailer = new Headers();
  readonly #queue = new MessageQueue<DescMessageShape>();
  #nextSeq = 0;
  #taken = 0;
  #started = false;
  /** The consumer will get nothing more than what is queued (end received, cancelled, failed). */
  #ended = false;
  /** The server is done with the stream: no credit or cancel is sent anymore. */
  #closed = false;
  #error: ConnectError | undefined;
  #response: { resolve: (res: StreamResponse) => void; reject: (err: unknown) => void } | undefined;
  #waiter: { resolve: (r: IteratorResult<DescMessageShape>) => void; reject: (err: unknown) => void } | undefined;

  constructor(callId: number, instanceId: string, method: DescMethodStreaming, output: MessageCodec<DescMessage>, window: number, idleMs: number, owner: StreamOwner) {
    this.callId = callId;
    this.instanceId = instanceId;
    this.#method = method;
    this.#output = output;
    this.#window = window;
    this.#idleMs = idleMs;
    this.#owner = owner;
    this.expiresAt = Date.now() + idleMs;
  }

  /** Resolves with the response once the server's first message or its end arrives. */
  response(): Promise<StreamResponse> {
    return new Promise((resolve, reject) => (this.#response = { resolve, reject }));
  }

  /** A reply envelope for this stream (its call id already checked). */
  onReply(reply: ReplyEnvelope): void {
    if (this.#ended) return;
    this.expiresAt = Date.now() + this.#idleMs;
    if (reply.credit !== undefined && reply.error === undefined) {
      if (!this.#closed) this.#owner.credit?.(reply.credit);
      return;
    }
    if (reply.seq === undefined) {
      // The end: trailers, and the error if the stream failed.
      this.#closed = true;
      this.#owner.finish(true);
      if (reply.trailer !== undefined) readMetadata(reply.trailer, this.#trailer);
      if (reply.error !== undefined && !this.#started) {
        this.#ended = true;
        this.#response?.reject(reply.error);
        return;
      }
      this.#start(reply.header);
      this.#end(reply.error);
      return;
    }
    if (reply.seq !== this.#nextSeq) return this.#abandon(new ConnectError(`stream message ${this.#nextSeq} lost (got ${reply.seq})`, Code.DataLoss));
    if (this.#queue.size >= this.#window) return this.#abandon(new ConnectError("the server sent beyond the credit granted", Code.Internal));
    this.#nextSeq++;
    let message;
    try {
      message = this.#output.fromBinary(reply.body);
    } catch (cause) {
      return this.#abandon(new ConnectError("cannot decode a stream message", Code.Internal, undefined, undefined, cause));
    }
    this.#start(reply.header);
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#took();
      waiter.resolve({ done: false, value: message });
    } else {
      this.#queue.push(message);
    }
  }

  /** The caller sent a message: the stream is not idle. */
  touch(): void {
    this.expiresAt = Date.now() + this.#idleMs;
  }

  /** Fails the stream from the caller's side (deadline, signal, lost instance) and cancels it on the server. */
  reject(err: unknown): void {
    this.#abandon(ConnectError.from(err));
  }

  next(): Promise<IteratorResult<DescMessageShape>> {
    // A consumer that reads is not idle, whatever the pace of the messages.
    this.expiresAt = Date.now() + this.#idleMs;
    if (this.#queue.size > 0) {
      const value = this.#queue.shift()!;
      this.#took();
      return Promise.resolve({ done: false, value });
    }
    if (this.#ended) {
      const err = this.#error;
      this.#error = undefined; // thrown once; then the iterator is done
      return err === undefined ? Promise.resolve({ done: true, value: undefined }) : Promise.reject(err);
    }
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  /** The consumer stopped early: cancel the stream on the server. */
  return(): Promise<IteratorResult<DescMessageShape>> {
    this.#queue.clear();
    if (!this.#ended) {
      this.#ended = true;
      this.#close();
    }
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  // The response resolves with the first message (or the end), carrying the response headers.
  #start(header: Uint8Array | undefined): void {
    if (this.#started) return;
    this.#started = true;
    const { header: h } = metadataOf(header, undefined);
    const method = this.#method;
    this.#response?.resolve({ stream: true, service: method.parent, method, header: h, trailer: this.#trailer, message: this });
  }

  // Grants credit back in batches of half the window: one control message per half window.
  #took(): void {
    if (this.#closed) return;
    if (++this.#taken >= Math.max(1, this.#window >> 1)) {
      this.#owner.control(this.#taken);
      this.#taken = 0;
    }
  }

  #end(error: ConnectError | undefined): void {
    this.#ended = true;
    this.#error = error;
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    this.#error = undefined;
    if (error === undefined) waiter.resolve({ done: true, value: undefined });
    else waiter.reject(error);
  }

  // Cancels the stream on the server and retires its reply slot (a late message may still come).
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#owner.control(0);
    this.#owner.finish(false);
  }

  #abandon(err: ConnectError): void {
    if (this.#ended) return;
    this.#close();
    if (!this.#started) {
      this.#ended = true;
      this.#response?.reject(err);
      return;
    }
    this.#queue.clear();
    this.#end(err);
  }
}
