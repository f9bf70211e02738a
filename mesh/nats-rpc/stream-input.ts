// The server's side of a client or bidi stream's input over NATS: the messages the caller sends, as
// the single-consumer async iterable the handler reads. It holds at most the credit it granted
// (`window` messages): each message the handler takes is granted back, in batches of half a window,
// so a handler that reads slowly holds the caller back instead of filling this process's memory. A
// gap in seq, a message beyond the credit, or no message for `idleTimeoutMs` while the handler waits
// fails the input (and the call, through `fail`).

import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageCodec } from "../codec/index.ts";
import { MessageQueue } from "./message-queue.ts";

type DescMessageShape = MessageShape<DescMessage>;

/** What the input needs from the stream that owns it. */
export interface InputOwner {
  /** Grants the caller `messages` more messages. */
  credit(messages: number): void;
  /** Ends the call with `err` (the input broke). */
  fail(err: ConnectError): void;
}

/** The caller's messages of one client or bidi stream, as the handler reads them. */
export class StreamInput implements AsyncIterableIterator<DescMessageShape> {
  readonly #codec: MessageCodec<DescMessage>;
  readonly #owner: InputOwner;
  readonly #window: number;
  readonly #readMaxBytes: number;
  readonly #idleTimeoutMs: number;
  readonly #queue = new MessageQueue<DescMessageShape>();
  #nextSeq = 0;
  #taken = 0;
  /** The caller sent its end (or the input failed): nothing more is queued. */
  #ended = false;
  #error: ConnectError | undefined;
  #waiter: { resolve: (r: IteratorResult<DescMessageShape>) => void; reject: (err: unknown) => void; timer: NodeJS.Timeout } | undefined;

  constructor(codec: MessageCodec<DescMessage>, window: number, readMaxBytes: number, idleTimeoutMs: number, owner: InputOwner) {
    this.#codec = codec;
    this.#window = window;
    this.#readMaxBytes = readMaxBytes;
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#owner = owner;
  }

  /** Messages held and not yet taken by the handler (never more than the window). */
  get buffered(): number {
    return this.#queue.size;
  }

  /** A message from the caller. */
  push(seq: number, body: Uint8Array): void {
    if (this.#ended) return;
    if (seq !== this.#nextSeq) return this.#broken(new ConnectError(`stream message ${this.#nextSeq} lost (got ${seq})`, Code.DataLoss));
    if (this.buffered >= this.#window) return this.#broken(new ConnectError("the caller sent beyond the credit granted", Code.ResourceExhausted));
    if (body.length > this.#readMaxBytes) return this.#broken(new ConnectError(`message larger than ${this.#readMaxBytes} bytes`, Code.ResourceExhausted));
    this.#nextSeq++;
    let message;
    try {
      message = this.#codec.fromBinary(body);
    } catch (cause) {
      return this.#broken(new ConnectError("cannot decode a stream message", Code.InvalidArgument, undefined, undefined, cause));
    }
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      clearTimeout(waiter.timer);
      this.#took();
      waiter.resolve({ done: false, value: message });
    } else {
      this.#queue.push(message);
    }
  }

  /** The caller's end of input, after `count` messages. */
  end(count: number): void {
    if (this.#ended) return;
    if (count !== this.#nextSeq) return this.#broken(new ConnectError(`stream message ${this.#nextSeq} lost (the caller sent ${count})`, Code.DataLoss));
    this.#finish(undefined);
  }

  /** The call ended (aborted, cancelled, answered): a handler still reading gets `err`. */
  close(err: ConnectError): void {
    this.#queue.clear();
    if (!this.#ended) this.#finish(err);
  }

  next(): Promise<IteratorResult<DescMessageShape>> {
    if (this.#queue.size > 0) {
      const value = this.#queue.shift()!;
      this.#took();
      return Promise.resolve({ done: false, value });
    }
    if (this.#ended) return this.#error === undefined ? Promise.resolve({ done: true, value: undefined }) : Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      // A caller that sends nothing for this long, while the handler waits, is probably gone.
      const timer = setTimeout(() => {
        this.#broken(new ConnectError(`no message from the caller for ${this.#idleTimeoutMs} ms`, Code.DeadlineExceeded));
      }, this.#idleTimeoutMs);
      this.#waiter = { resolve, reject, timer };
    });
  }

  /** The handler stopped reading: later messages are dropped (the call goes on). */
  return(): Promise<IteratorResult<DescMessageShape>> {
    this.close(new ConnectError("the handler stopped reading", Code.Canceled));
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  // Grants credit back in batches of half the window.
  #took(): void {
    if (this.#ended) return;
    if (++this.#taken >= Math.max(1, this.#window >> 1)) {
      this.#owner.credit(this.#taken);
      this.#taken = 0;
    }
  }

  #broken(err: ConnectError): void {
    if (this.#ended) return;
    this.#queue.clear();
    this.#finish(err);
    this.#owner.fail(err);
  }

  #finish(err: ConnectError | undefined): void {
    this.#ended = true;
    this.#error = err;
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    clearTimeout(waiter.timer);
    if (err === undefined) waiter.resolve({ done: true, value: undefined });
    else waiter.reject(err);
  }
}
