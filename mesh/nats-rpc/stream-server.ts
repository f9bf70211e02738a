// One stream being answered over NATS (server, client or bidi streaming): pulls the handler's messages
// one at a time, only while the caller has granted credit (see stream-control.ts), so a slow caller
// holds the handler back instead of filling memory; ends with trailers or the error; stops the handler
// (its signal aborts and its iterator is returned) when the caller cancels, the deadline passes, the
// server shuts down, the caller's input breaks, or no credit comes for `idleTimeoutMs` (a caller that
// died silently). The caller's messages of a client or bidi stream go to `input` (stream-input.ts).

import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { NatsHandlerContext } from "./handler-context.ts";
import { INTERNAL_ERROR_MESSAGE } from "../engine/index.ts";
import { encodeErrorReply, encodeReply } from "./envelope.ts";
import { normalize, type InputStreamRoute, type ServerStreamingRoute, type StreamOutput } from "./routes.ts";
import type { StreamInput } from "./stream-input.ts";

const NO_BYTES = new Uint8Array(0);

/** The state of one server stream. */
export class ServerStream {
  readonly context: NatsHandlerContext;
  readonly callId: number;
  /** The caller's messages, for a client or bidi stream. */
  input: StreamInput | undefined;
  #credit: number;
  #wake: (() => void) | undefined;
  #cancelled = false;

  constructor(context: NatsHandlerContext, callId: number, window: number) {
    this.context = context;
    this.callId = callId;
    this.#credit = window;
  }

  /** The caller took messages: it may be sent as many more. */
  grant(messages: number): void {
    this.#credit += messages;
    this.#wake?.();
  }

  /** The caller stopped reading: stop the handler and send nothing more. */
  cancel(): void {
    this.#cancelled = true;
    this.context.abort(new ConnectError("the caller cancelled the stream", Code.Canceled));
  }

  /** Runs the handler and sends its messages, then the end; never rejects, resolves the error it ended with. */
  async run(route: ServerStreamingRoute | InputStreamRoute, input: unknown, send: (data: Uint8Array) => void, idleTimeoutMs: number): Promise<ConnectError | undefined> {
    const context = this.context;
    const signal = context.signal;
    // Rejects when the call is aborted, so that a handler that ignores its signal cannot hold the stream.
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
    aborted.catch(() => {});
    const output = route.method.output as DescMessage;
    let out: StreamOutput | undefined;
    let iterator: AsyncIterator<unknown> | undefined;
    let seq = 0;
    try {
      out = await Promise.race([route.invoke(context, input as never), aborted]);
      iterator = out.message[Symbol.asyncIterator]();
      for (;;) {
        if (this.#credit <= 0) await this.#creditOrAbort(aborted, idleTimeoutMs);
        const next = await Promise.race([iterator.next(), aborted]);
        if (next.done === true) {
          iterator = undefined;
          break;
        }
        const message = route.output.toBinary(normalize(output, next.value));
        send(encodeReply(this.callId, seq === 0 ? headerOf(out, context) : undefined, undefined, message, seq));
        seq++;
        this.#credit--;
      }
      send(encodeReply(this.callId, seq === 0 ? headerOf(out, context) : undefined, trailerOf(out, context), NO_BYTES));
      this.input?.close(new ConnectError("the call ended", Code.Canceled));
      return undefined;
    } catch (e) {
      // Stops a handler that is still producing; its own errors no longer matter.
      iterator?.return?.().catch(() => {});
      const reason = context.abortReason;
      this.input?.close(reason instanceof ConnectError ? reason : new ConnectError("the call ended", Code.Canceled));
      if (this.#cancelled) return new ConnectError("the caller cancelled the stream", Code.Canceled);
      const err = e instanceof ConnectError ? e : reason instanceof ConnectError ? reason : new ConnectError(INTERNAL_ERROR_MESSAGE, Code.Internal);
      const header = seq === 0 && out !== undefined ? headerOf(out, context) : seq === 0 ? context.responseHeaderIfAny : undefined;
      try {
        send(encodeErrorReply(this.callId, header, out === undefined ? context.responseTrailerIfAny : trailerOf(out, context), err));
      } catch {
        send(encodeErrorReply(this.callId, undefined, undefined, new ConnectError(err.rawMessage, err.code)));
      }
      return err;
    }
  }

  // Waits for credit; aborts the call when none comes in time (the caller is probably gone).
  async #creditOrAbort(aborted: Promise<never>, idleTimeoutMs: number): Promise<void> {
    const timer = setTimeout(() => {
      this.context.abort(new ConnectError(`no credit from the caller for ${idleTimeoutMs} ms`, Code.DeadlineExceeded));
    }, idleTimeoutMs);
    try {
      while (this.#credit <= 0) await Promise.race([new Promise<void>((resolve) => (this.#wake = resolve)), aborted]);
    } finally {
      this.#wake = undefined;
      clearTimeout(timer);
    }
  }
}

function headerOf(out: StreamOutput, context: NatsHandlerContext): Headers | undefined {
  return out.header ?? context.responseHeaderIfAny;
}

function trailerOf(out: StreamOutput, context: NatsHandlerContext): Headers | undefined {
  return out.trailer ?? context.responseTrailerIfAny;
}
