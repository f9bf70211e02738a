// The HandlerContext of a call over NATS: protocol/handler-context.ts's lazy context (signal, headers
// and values created only when read), with what NATS adds: request metadata decoded on first read,
// the deadline timer, and the call's InboundCall face (deadline propagation runs in it as is).

import type { DescMethodStreaming, DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, type StreamRequest, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import { LazyHandlerContext, type ContextOwner } from "../protocol/index.ts";
import type { InboundCall } from "../resilience/index.ts";
import { readMetadata } from "./wire.ts";

/** NATS has no connection per call to watch: cancellation arrives as a control message. */
const NO_OWNER: ContextOwner = Object.freeze({ watchCancel() {} });
const NO_HEADERS = Object.freeze({});

function onDeadline(context: NatsHandlerContext): void {
  context.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
}

/** The context of one call over NATS; `finish()` releases its timer. */
export class NatsHandlerContext extends LazyHandlerContext implements InboundCall {
  declare readonly method: DescMethodUnary | DescMethodStreaming;
  /** The request object handed to the interceptors (set by the server). */
  request: UnaryRequest | StreamRequest | undefined;
  /** The response object the handler produced (set by the server). */
  response: UnaryResponse | undefined;
  /** The call hooks' tokens while they are begun (set by the server; they must end exactly once). */
  hookTokens: unknown[] | undefined = undefined;
  readonly #subject: string;
  readonly #metadata: Uint8Array | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** `metadata` is the request's metadata block, decoded when a handler first reads the headers. */
  constructor(method: DescMethodUnary | DescMethodStreaming, subject: string, metadata: Uint8Array | undefined, timeoutMs: number | undefined) {
    super(method, "nats", "POST", NO_HEADERS, "", NO_OWNER, undefined);
    this.#subject = subject;
    this.#metadata = metadata;
    if (timeoutMs !== undefined) {
      this.deadline = Date.now() + timeoutMs;
      this.#timer = setTimeout(onDeadline, timeoutMs, this);
    }
  }

  /** Absolute deadline (Date.now() based), or undefined without one. */
  get deadlineAt(): number | undefined {
    return this.deadline === 0 ? undefined : this.deadline;
  }

  override get url(): string {
    return `nats:${this.#subject}`;
  }

  /** The service handling the call (mesh clients name it as the caller of calls it makes). */
  get serviceName(): string {
    return this.service.typeName;
  }

  protected override readRequestHeader(): Headers {
    const h = new Headers();
    if (this.#metadata !== undefined) readMetadata(this.#metadata, h);
    return h;
  }

  // The metadata block is decoded whole: there are no raw Node headers to read one value from.
  override requestHeaderValue(name: string): string | undefined {
    return this.requestHeader.get(name) ?? undefined;
  }

  /** Ends the call: releases the deadline timer. The signal is left as is (nothing listens anymore). */
  finish(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }
}
