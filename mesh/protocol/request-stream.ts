// The request messages of a client-streaming or bidi call as an AsyncIterable: frames are queued as
// they arrive and decoded (and inflated) when the handler pulls them, with backpressure on the socket.

import type { Readable } from "node:stream";
import type { ConnectError } from "@connectrpc/connect";
import { FLAG_COMPRESSED } from "./envelope.ts";
import type { Frame } from "./envelope.ts";

/** What the stream needs from its call. */
export interface FrameDecoder {
  decompress(data: Buffer): Promise<Buffer>;
  parse(data: Uint8Array): unknown;
}

/** Pause the socket when this many frames wait undecoded; resume below LOW_WATER. */
const HIGH_WATER = 32;
const LOW_WATER = 8;

export class RequestStream implements AsyncIterableIterator<unknown> {
  readonly #decoder: FrameDecoder;
  readonly #body: Readable;
  #queue: Frame[] = [];
  #head = 0;
  #ended = false;
  #error: ConnectError | undefined = undefined;
  #waiter: ((v: void) => void) | undefined = undefined;
  #paused = false;

  constructor(decoder: FrameDecoder, body: Readable) {
    this.#decoder = decoder;
    this.#body = body;
  }

  push(frame: Frame): void {
    this.#queue.push(frame);
    if (this.#queue.length - this.#head >= HIGH_WATER && !this.#paused) {
      this.#paused = true;
      this.#body.pause();
    }
    this.#wake();
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  fail(err: ConnectError): void {
    if (this.#error === undefined && !this.#ended) this.#error = err;
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w();
    }
  }

  async next(): Promise<IteratorResult<unknown>> {
    for (;;) {
      if (this.#head < this.#queue.length) {
        const frame = this.#queue[this.#head++];
        if (this.#head === this.#queue.length) {
          this.#queue.length = 0;
          this.#head = 0;
        }
        if (this.#paused && this.#queue.length - this.#head <= LOW_WATER) {
          this.#paused = false;
          this.#body.resume();
        }
        let data: Buffer = frame.data;
        if ((frame.flags & FLAG_COMPRESSED) !== 0) data = await this.#decoder.decompress(data);
        return { done: false, value: this.#decoder.parse(data) };
      }
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }

  async return(): Promise<IteratorResult<unknown>> {
    this.#ended = true;
    this.#queue.length = 0;
    this.#head = 0;
    if (this.#paused) {
      this.#paused = false;
      this.#body.resume();
    }
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<unknown> {
    return this;
  }
}
