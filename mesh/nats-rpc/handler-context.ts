// A lean HandlerContext for Connect over NATS. connect-es's createHandlerContext links three abort
// signals and its abort() builds a DOMException on every call; here the signal is one AbortController, created only when someone reads the signal (or
// the call is aborted), and the header objects are created on first use. The context is also the
// call's InboundCall (deadline propagation), so running a handler in it allocates nothing more.

import type { DescMethodServerStreaming, DescMethodUnary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  type ContextValues,
  type HandlerContext,
  type StreamRequest,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import type { InboundCall } from "../resilience/index.ts";
import { readMetadata } from "./wire.ts";

/** The context of one call over NATS; `finish()` releases its timer. */
export class NatsHandlerContext implements HandlerContext, InboundCall {
  readonly method: DescMethodUnary | DescMethodServerStreaming;
  readonly service: DescMethodUnary["parent"];
  readonly requestMethod = "POST";
  readonly protocolName = "nats";
  /** Absolute deadline (Date.now() based), or undefined without one. */
  readonly deadlineAt: number | undefined;
  /** The request object handed to the interceptors (set by the server). */
  request: UnaryRequest | StreamRequest | undefined;
  /** The response object the handler produced (set by the server). */
  response: UnaryResponse | undefined;
  readonly #subject: string;
  readonly #metadata: Uint8Array | undefined;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #requestHeader: Headers | undefined;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;
  #values: ContextValues | undefined;

  /** `metadata` is the request's metadata block, decoded when a handler first reads the headers. */
  constructor(method: DescMethodUnary | DescMethodServerStreaming, subject: string, metadata: Uint8Array | undefined, timeoutMs: number | undefined) {
    this.method = method;
    this.service = method.parent;
    this.#subject = subject;
    this.#metadata = metadata;
    if (timeoutMs !== undefined) {
      this.deadlineAt = Date.now() + timeoutMs;
      this.#timer = setTimeout(() => this.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
    }
  }

  get url(): string {
    return `nats:${this.#subject}`;
  }

  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }

  /** Why the call was aborted (deadline, shutdown), or undefined while it runs. */
  get abortReason(): unknown {
    const c = this.#controller;
    return c !== undefined && c.signal.aborted ? c.signal.reason : undefined;
  }

  /** Milliseconds left before the deadline, or undefined without one. */
  timeoutMs(): number | undefined {
    return this.deadlineAt === undefined ? undefined : this.deadlineAt - Date.now();
  }

  get requestHeader(): Headers {
    if (this.#requestHeader === undefined) {
      this.#requestHeader = new Headers();
      if (this.#metadata !== undefined) readMetadata(this.#metadata, this.#requestHeader);
    }
    return this.#requestHeader;
  }

  get responseHeader(): Headers {
    return (this.#responseHeader ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.#responseTrailer ??= new Headers());
  }

  /** Response headers if any were asked for, without creating them. */
  get responseHeaderIfAny(): Headers | undefined {
    return this.#responseHeader;
  }

  /** Response trailers if any were asked for, without creating them. */
  get responseTrailerIfAny(): Headers | undefined {
    return this.#responseTrailer;
  }

  get values(): ContextValues {
    return (this.#values ??= createContextValues());
  }

  /** Aborts the call (deadline or shutdown). */
  abort(reason: unknown): void {
    (this.#controller ??= new AbortController()).abort(reason);
  }

  /** Ends the call: releases the deadline timer. The signal is left as is (nothing listens anymore). */
  finish(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }
}
