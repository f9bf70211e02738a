// The caller's side of a client or bidi stream's input over NATS: pulls the caller's messages one at a
// time, only while the server has granted credit (credit replies, see envelope.ts), sends each as a
// control message with its seq, then the end of input. The server's first credit also tells that it
// took the stream, so nothing is sent to a server that refused it.

import { Code, ConnectError } from "@connectrpc/connect";

/** Where the sender's messages go. */
export interface SenderSink {
  /** Sends message `seq` of the input (the encoded message); throws a ConnectError when it cannot. */
  message(seq: number, value: unknown): void;
  /** Sends the end of input after `count` messages. */
  end(count: number): void;
  /** The input failed (the caller's iterable threw, or a message could not be sent): fail the call. */
  fail(err: ConnectError): void;
}

/** Sends one stream's input as credit allows. */
export class StreamSender {
  #credit = 0;
  #stopped = false;
  #wake: (() => void) | undefined;

  /** The server may take `messages` more. */
  grant(messages: number): void {
    this.#credit += messages;
    this.#wake?.();
  }

  /** The call ended: send nothing more (a message the caller's iterable is producing is dropped). */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }

  /** Pulls `input` and sends it; never rejects. */
  async run(input: AsyncIterable<unknown>, sink: SenderSink): Promise<void> {
    let iterator: AsyncIterator<unknown> | undefined;
    let seq = 0;
    try {
      iterator = input[Symbol.asyncIterator]();
      for (;;) {
        while (this.#credit <= 0 && !this.#stopped) await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        if (this.#stopped) break;
        const next = await iterator.next();
        if (this.#stopped) break;
        if (next.done === true) {
          iterator = undefined;
          sink.end(seq);
          return;
        }
        sink.message(seq++, next.value);
        this.#credit--;
      }
      // Stopped: let the caller's generator clean up; its own errors no longer matter.
      void iterator?.return?.()?.catch(() => {});
    } catch (err) {
      if (this.#stopped) return;
      this.#stopped = true;
      void iterator?.return?.()?.catch(() => {});
      sink.fail(err instanceof ConnectError ? err : new ConnectError("the request stream failed", Code.Internal, undefined, undefined, err));
    }
  }
}
