// Connect over NATS request/reply, client side: one inbox subscription per mesh client, requests
// published to the chosen instance's own subject (so the balancer, not NATS, picks the instance), and
// replies matched by reply slot and checked by call id. No per-request subscription, promise chain or
// stack trace beyond the minimum; messages are encoded by the compiled codecs of mesh/codec.

import { create, isMessage, type DescMessage, type DescMethodUnary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  type ContextValues,
  type Interceptor,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { compileCodec, type MessageCodec } from "../codec/index.ts";
import type { Endpoint } from "../discovery/index.ts";
import { WeftOptionsError } from "../errors/index.ts";
import { REFUSED_HEADER } from "../resilience/index.ts";
import type { EndpointTransport } from "./endpoint-transport.ts";
import { ReplySlots } from "./nats-reply-slots.ts";
import { CALL_ID_MASK, encodeRequest, metadataOf, parseReply, type ReplyEnvelope } from "./nats-rpc-protocol.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_CLIENT_OPTIONS";

/** Largest timeout the envelope carries (its varints hold 32 bits), in milliseconds. */
const MAX_TIMEOUT_MS = 0xffffffff;

/** Options of {@link createNatsRpcClient}. */
export interface NatsRpcClientOptions {
  /** The NATS connection (created once per process by `main`). */
  readonly nc: NatsConnection;
  /** Interceptors run around every attempt. Default none. */
  readonly interceptors?: readonly Interceptor[];
  /** Bound on a call that has no deadline, in milliseconds (NATS never reports a lost reply). Default 30000. */
  readonly defaultTimeoutMs?: number;
}

const TIMEOUT_KEY = createContextKey<number | undefined>(undefined, { description: "weft nats attempt timeout" });

interface Codecs {
  readonly input: MessageCodec<DescMessage>;
  readonly output: MessageCodec<DescMessage>;
}

interface Pending {
  readonly callId: number;
  readonly instanceId: string;
  readonly method: DescMethodUnary;
  readonly output: MessageCodec<DescMessage>;
  readonly resolve: (res: UnaryResponse) => void;
  readonly reject: (err: unknown) => void;
  readonly expiresAt: number;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** A reply without metadata; its (empty) headers and trailers are created on first read. A class: an
 * object literal with getters costs closures per call (7% of a NATS client's CPU in profiles). */
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

/** The shared NATS RPC client of one mesh client; hands out per-endpoint transports. */
export interface NatsRpcClient {
  /** A transport to one instance (its `natsSubject`). */
  endpoint(endpoint: Endpoint): EndpointTransport;
  /** Fails every pending call and stops the inbox subscription. */
  close(): void;
}

/** Creates the NATS RPC client. */
export function createNatsRpcClient(options: NatsRpcClientOptions): NatsRpcClient {
  const nc = options.nc;
  if (nc === undefined || typeof nc.publish !== "function") throw new WeftOptionsError(OPTIONS, "options.nc must be a NATS connection");
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
  if (!Number.isInteger(defaultTimeoutMs) || defaultTimeoutMs < 1) {
    throw new WeftOptionsError(OPTIONS, `options.defaultTimeoutMs must be a positive integer, got ${String(defaultTimeoutMs)}`);
  }
  const interceptors = [...(options.interceptors ?? [])];
  const inbox = createInbox();
  const prefixLength = inbox.length + 1;
  // Calls waiting for a reply, by reply slot (see nats-reply-slots.ts).
  const pending = new Map<number, Pending>();
  const slots = new ReplySlots();
  const codecs = new Map<DescMethodUnary, Codecs>();
  let nextCallId = 0;

  // Ends a call: `done` when nothing more can arrive on its slot (reply, no-responders, not sent),
  // otherwise (deadline, cancel, close) its slot is retired so a late reply cannot answer another call.
  function settle(slot: number, done = false): Pending | undefined {
    const p = pending.get(slot);
    if (p === undefined) return undefined;
    pending.delete(slot);
    if (done) slots.release(slot);
    else slots.retire();
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (p.onAbort !== undefined) p.signal!.removeEventListener("abort", p.onAbort);
    return p;
  }

  function onReply(msg: Msg): void {
    const slot = Number(msg.subject.slice(prefixLength));
    const p = pending.get(slot);
    if (p === undefined) return; // late reply after a deadline or cancel
    const data = msg.data;
    if (data.length === 0 && msg.headers?.code === 503) {
      settle(slot, true);
      p.reject(new ConnectError("no responders on the instance's subject", Code.Unavailable, { [REFUSED_HEADER]: "no-responders" }));
      return;
    }
    let reply: ReplyEnvelope;
    try {
      reply = parseReply(data);
    } catch (cause) {
      // Not ours to trust: retire the slot in case the real reply still comes.
      settle(slot);
      p.reject(new ConnectError("malformed reply (an instance speaking another protocol version?)", Code.Internal, undefined, undefined, cause));
      return;
    }
    if (reply.callId !== p.callId) return; // a stray reply for an earlier user of the slot
    settle(slot, true);
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

  const sub = nc.subscribe(`${inbox}.*`, {
    callback: (err, msg) => {
      if (err === null) onReply(msg);
    },
  });

  // Bounds calls that have no deadline, without a timer each.
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [slot, p] of pending) {
      if (p.timer === undefined && p.expiresAt <= now) {
        settle(slot)?.reject(new ConnectError("no reply within the default timeout", Code.DeadlineExceeded));
      }
    }
  }, 1000);
  sweeper.unref();

  function codecsOf(method: DescMethodUnary): Codecs {
    let c = codecs.get(method);
    if (c === undefined) codecs.set(method, (c = { input: compileCodec(method.input), output: compileCodec(method.output) }));
    return c;
  }

  function send(
    endpoint: Endpoint,
    subject: string,
    method: DescMethodUnary,
    message: UnaryRequest["message"],
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
  ): Promise<UnaryResponse> {
    if (signal?.aborted) return Promise.reject(ConnectError.from(signal.reason, Code.Canceled));
    const { input, output } = codecsOf(method);
    const callId = (nextCallId = (nextCallId + 1) & CALL_ID_MASK);
    let payload: Uint8Array;
    try {
      const timeout = timeoutMs === undefined ? undefined : Math.min(MAX_TIMEOUT_MS, Math.max(1, Math.floor(timeoutMs)));
      const metadata = header === undefined ? undefined : header instanceof Headers ? header : new Headers(header);
      payload = encodeRequest(callId, timeout, metadata, input.toBinary(message));
    } catch (cause) {
      return Promise.reject(new ConnectError("cannot encode the request", Code.Internal, undefined, undefined, cause));
    }
    const slot = slots.take();
    return new Promise<UnaryResponse>((resolve, reject) => {
      const p: Pending = {
        callId,
        instanceId: endpoint.instanceId,
        method,
        output,
        resolve,
        reject,
        expiresAt: Date.now() + defaultTimeoutMs,
        timer: undefined,
        signal: undefined,
        onAbort: undefined,
      };
      if (timeoutMs !== undefined) {
        p.timer = setTimeout(() => {
          settle(slot)?.reject(new ConnectError("the operation timed out", Code.DeadlineExceeded));
        }, timeoutMs);
      }
      if (signal !== undefined) {
        p.signal = signal;
        p.onAbort = () => settle(slot)?.reject(ConnectError.from(signal.reason, Code.Canceled));
        signal.addEventListener("abort", p.onAbort, { once: true });
      }
      pending.set(slot, p);
      try {
        nc.publish(subject, payload, { reply: `${inbox}.${slot}` });
      } catch (cause) {
        // Not sent at all (connection closed): the handler certainly never ran.
        settle(slot, true);
        reject(new ConnectError("NATS connection unavailable", Code.Unavailable, { [REFUSED_HEADER]: "not-sent" }, undefined, cause));
      }
    });
  }

  return {
    endpoint(endpoint) {
      // "<instance subject>.<package.Service>.<Method>", built once per method.
      const subjects = new Map<DescMethodUnary, string>();
      const subjectOf = (method: DescMethodUnary): string => {
        let subject = subjects.get(method);
        if (subject === undefined) subjects.set(method, (subject = `${endpoint.natsSubject}.${method.parent.typeName}.${method.name}`));
        return subject;
      };
      // Interceptors may replace the request object, so the timeout travels in its context values.
      let chain = (req: UnaryRequest): Promise<UnaryResponse> => {
        const method = req.method as DescMethodUnary;
        return send(endpoint, subjectOf(method), method, req.message, req.signal, req.contextValues.get(TIMEOUT_KEY), req.header);
      };
      // The first interceptor is the outermost, as in connect-es; composed once per endpoint.
      for (let i = interceptors.length - 1; i >= 0; i--) chain = interceptors[i](chain as never) as never;
      return {
        unary<I extends DescMessage, O extends DescMessage>(
          method: DescMethodUnary<I, O>,
          signal: AbortSignal | undefined,
          timeoutMs: number | undefined,
          header: HeadersInit | undefined,
          input: MessageInitShape<I>,
          contextValues?: ContextValues,
        ): Promise<UnaryResponse<I, O>> {
          const m = method as unknown as DescMethodUnary;
          const message = isMessage(input, method.input) ? input : create(method.input, input);
          if (interceptors.length === 0) {
            return send(endpoint, subjectOf(m), m, message, signal, timeoutMs, header) as unknown as Promise<UnaryResponse<I, O>>;
          }
          const req: UnaryRequest = {
            stream: false,
            service: method.parent,
            method: m,
            requestMethod: "POST",
            url: `nats:${subjectOf(m)}`,
            signal: signal as AbortSignal,
            header: header instanceof Headers ? header : new Headers(header),
            contextValues: contextValues ?? createContextValues(),
            message,
          };
          req.contextValues.set(TIMEOUT_KEY, timeoutMs);
          return chain(req) as unknown as Promise<UnaryResponse<I, O>>;
        },
        stream() {
          return Promise.reject(new ConnectError("streaming calls are not supported over NATS; use the grpc transport", Code.Unimplemented));
        },
        close(graceful) {
          if (graceful) return; // the instance drains: its replies still come
          for (const [slot, p] of pending) {
            if (p.instanceId === endpoint.instanceId) {
              settle(slot)?.reject(new ConnectError("the instance went away during the call", Code.Unavailable));
            }
          }
        },
      };
    },
    close() {
      clearInterval(sweeper);
      sub.unsubscribe();
      for (const slot of [...pending.keys()]) settle(slot)?.reject(new ConnectError("mesh client closed", Code.Unavailable, { [REFUSED_HEADER]: "not-sent" }));
    },
  };
}
