// The caller's inbox for Connect over NATS: one subscription (`<inbox>.*`) for every reply of one mesh
// client, the calls and streams waiting on their reply slots, and their ends: a reply, a deadline, a
// cancel, a lost instance, or no reply within the default timeout (swept once a second, without a
// timer per call). Replies are matched by slot and checked by call id.

import type { DescMessage, DescMethodUnary } from "@bufbuild/protobuf";
import { Code, ConnectError, type UnaryResponse } from "@connectrpc/connect";
import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { MessageCodec } from "../codec/index.ts";
import { REFUSED_HEADER } from "../resilience/index.ts";
import { ReplySlots } from "./reply-slots.ts";
import { metadataOf, parseReply, type ReplyEnvelope } from "./envelope.ts";
import { NatsClientStream } from "./stream-client.ts";

/** The `code` of the cause of calls failed because the NATS connection was lost (see failure.ts of mesh/client). */
export const CONNECTION_LOST_CODE = "WEFT_NATS_CONNECTION_LOST";

/** The cause of a call failed because the NATS connection was lost under it: its reply can no longer come. */
class ConnectionLost extends Error {
  override readonly name = "ConnectionLost";
  readonly code = CONNECTION_LOST_CODE;
}

/** What every call waiting on a slot has. */
export interface Waiting {
  readonly callId: number;
  readonly instanceId: string;
  /** The request's subject (a broker refusal names it). */
  subject: string;
  /** When the call is given up without a deadline (Date.now() based). */
  expiresAt: number;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  reject(err: unknown): void;
}

/** A unary call waiting for its reply. */
export interface PendingUnary extends Waiting {
  readonly method: DescMethodUnary;
  readonly output: MessageCodec<DescMessage>;
  readonly resolve: (res: UnaryResponse) => void;
}

/** A reply without metadata; its (empty) headers and trailers are created on first read. A class: an
 * object literal with getters costs closures per call. */
class BareResponse implements UnaryResponse {
  readonly stream = false as const;
  readonly service: DescMethodUnary["parent"];
  readonly method: DescMethodUnary;
  readonly message: UnaryResponse["message"];
  #header: Headers | undefined;
  #trailer: Headers | undefined;
  constructor(method: DescMethodUnary, message: UnaryResponse["message"]) {
    this.service = method.parent;
    this.method = method;
    this.message = message;
  }
  get header(): Headers {
    return (this.#header ??= new Headers());
  }
  get trailer(): Headers {
    return (this.#trailer ??= new Headers());
  }
}

/** One mesh client's reply inbox. */
export class ReplyInbox {
  readonly #prefix: string;
  readonly #pending = new Map<number, PendingUnary | NatsClientStream>();
  readonly #slots = new ReplySlots();
  readonly #sub: Subscription;
  readonly #sweeper: NodeJS.Timeout;

  /** `inboxPrefix`: the connection's nats.js inboxPrefix (the generated permissions let only its workload read there). */
  constructor(nc: NatsConnection, inboxPrefix: string) {
    this.#prefix = `${createInbox(inboxPrefix)}.`;
    const prefixLength = this.#prefix.length;
    this.#sub = nc.subscribe(`${this.#prefix}*`, {
      callback: (err, msg) => {
        if (err === null) this.#onReply(Number(msg.subject.slice(prefixLength)), msg);
      },
    });
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      for (const [slot, p] of this.#pending) {
        if (p.timer === undefined && p.expiresAt <= now) {
          this.settle(slot)?.reject(new ConnectError("no reply within the default timeout", Code.DeadlineExceeded));
        }
      }
    }, 1000);
    this.#sweeper.unref();
  }

  /** A free reply slot. */
  take(): number {
    return this.#slots.take();
  }

  /** The reply subject of a slot. */
  subject(slot: number): string {
    return this.#prefix + slot;
  }

  /** Waits on `slot` for `call`, ending it at `timeoutMs` or when `signal` aborts. */
  wait(slot: number, call: PendingUnary | NatsClientStream, timeoutMs: number | undefined, signal: AbortSignal | undefined): void {
    if (timeoutMs !== undefined) {
      call.timer = setTimeout(() => this.settle(slot)?.reject(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
    }
    if (signal !== undefined) {
      call.signal = signal;
      call.onAbort = () => this.settle(slot)?.reject(ConnectError.from(signal.reason, Code.Canceled));
      signal.addEventListener("abort", call.onAbort, { once: true });
    }
    this.#pending.set(slot, call);
  }

  /**
   * Ends the call on `slot` and returns it. `done` when nothing more can arrive on the slot (its reply,
   * no-responders, not sent): the slot is reused. Otherwise (deadline, cancel, close) the slot is
   * retired, so that a late reply cannot answer another call.
   */
  settle(slot: number, done = false): PendingUnary | NatsClientStream | undefined {
    const p = this.#pending.get(slot);
    if (p === undefined) return undefined;
    this.#pending.delete(slot);
    if (done) this.#slots.release(slot);
    else this.#slots.retire();
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (p.onAbort !== undefined) p.signal!.removeEventListener("abort", p.onAbort);
    return p;
  }

  /**
   * Fails the calls to an instance that went away without draining, `graceMs` later: discovery drops an
   * instance whose heartbeats stopped, which on a busy machine may only be late, so its calls get that
   * long to answer before they fail (a dead instance's calls fail then instead of at their deadline).
   */
  failInstance(instanceId: string, graceMs: number): void {
    const calls = [...this.#pending].filter(([, p]) => p.instanceId === instanceId);
    if (calls.length === 0) return;
    const fail = () => {
      for (const [slot, p] of calls) {
        // Only the call that was waiting then: the slot may since serve another call.
        if (this.#pending.get(slot) === p) this.settle(slot)?.reject(new ConnectError("the instance went away during the call", Code.Unavailable));
      }
    };
    if (graceMs <= 0) fail();
    else setTimeout(fail, graceMs).unref();
  }

  /** Fails the calls whose request the broker refused to take (a publish permission violation). */
  failSubject(subject: string, err: ConnectError): void {
    for (const [slot, p] of this.#pending) if (p.subject === subject) this.settle(slot)?.reject(err);
  }

  /** Fails every waiting call with UNAVAILABLE: the connection was lost, so their replies cannot come. */
  failAll(): void {
    for (const slot of [...this.#pending.keys()]) {
      this.settle(slot)?.reject(new ConnectError("the NATS connection was lost during the call", Code.Unavailable, undefined, undefined, new ConnectionLost("NATS disconnected")));
    }
  }

  /** Fails every call and stops the subscription. */
  close(): void {
    clearInterval(this.#sweeper);
    this.#sub.unsubscribe();
    for (const slot of [...this.#pending.keys()]) this.settle(slot)?.reject(new ConnectError("mesh client closed", Code.Unavailable));
  }

  #onReply(slot: number, msg: Msg): void {
    const p = this.#pending.get(slot);
    if (p === undefined) return; // late reply after a deadline or cancel
    const data = msg.data;
    if (data.length === 0 && msg.headers?.code === 503) {
      this.settle(slot, true);
      p.reject(new ConnectError("no responders on the instance's subject", Code.Unavailable, { [REFUSED_HEADER]: "no-responders" }));
      return;
    }
    let reply: ReplyEnvelope;
    try {
      reply = parseReply(data);
    } catch (cause) {
      // Not ours to trust: retire the slot in case the real reply still comes.
      this.settle(slot);
      p.reject(new ConnectError("malformed reply (an instance speaking another protocol version?)", Code.Internal, undefined, undefined, cause));
      return;
    }
    if (reply.callId !== p.callId) return; // a stray reply for an earlier user of the slot
    if (p instanceof NatsClientStream) {
      p.onReply(reply); // settles the slot itself at the end
      return;
    }
    this.settle(slot, true);
    if (reply.error !== undefined) {
      p.reject(reply.error);
      return;
    }
    let message;
    try {
      message = p.output.fromBinary(reply.body);
    } catch (cause) {
      p.reject(new ConnectError("cannot decode the response", Code.Internal, undefined, undefined, cause));
      return;
    }
    if (reply.header === undefined && reply.trailer === undefined) {
      // Most replies carry no metadata: create the Headers objects only if someone reads them.
      p.resolve(new BareResponse(p.method, message));
      return;
    }
    const { header, trailer } = metadataOf(reply.header, reply.trailer);
    p.resolve({ stream: false, service: p.method.parent, method: p.method, header, trailer, message });
  }
}
