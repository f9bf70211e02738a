// Connect over NATS request/reply, client side: requests published to the chosen instance's own
// subject (so the balancer, not NATS, picks the instance), replies received on one inbox per mesh
// client (reply-inbox.ts), matched by reply slot and checked by call id. No per-request
// subscription, promise chain or stack trace beyond the minimum; messages are encoded by the compiled
// codecs of mesh/codec. All four call kinds: streams in stream-client.ts, the input of client and
// bidi streams in stream-sender.ts.

import {
  create,
  isMessage,
  type DescMessage,
  type DescMethodStreaming,
  type DescMethodUnary,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextKey,
  createContextValues,
  type ContextValues,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { PermissionViolationError, type NatsConnection } from "@nats-io/transport-node";
import { compileCodec, type MessageCodec } from "../codec/index.ts";
import type { Endpoint } from "../discovery/index.ts";
import { WeftOptionsError } from "../errors/index.ts";
import { REFUSED_HEADER } from "../resilience/index.ts";
import { ReplyInbox, type PendingUnary } from "./reply-inbox.ts";
import { CALL_ID_MASK, encodeRequest } from "./envelope.ts";
import { NatsClientStream } from "./stream-client.ts";
import { CONTROL_TOKEN, encodeControl, encodeStreamEnd, encodeStreamMessage } from "./stream-control.ts";
import { StreamSender } from "./stream-sender.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_CLIENT_OPTIONS";

const NO_BYTES = new Uint8Array(0);

/** Largest timeout the envelope carries (its varints hold 32 bits), in milliseconds. */
const MAX_TIMEOUT_MS = 0xffffffff;

/**
 * How long the calls to an instance that discovery dropped (heartbeats stopped, no leave) may still be
 * answered before they fail UNAVAILABLE: a late heartbeat on a busy machine is not a dead instance.
 */
const INSTANCE_GONE_GRACE_MS = 2_000;

/** Options of {@link createNatsRpcClient}. */
export interface NatsRpcClientOptions {
  /** The NATS connection (created once per process by `main`). */
  readonly nc: NatsConnection;
  /** Interceptors run around every attempt. Default none. */
  readonly interceptors?: readonly Interceptor[];
  /**
   * Bound on a call that has no deadline, in milliseconds (NATS never reports a lost reply): the whole
   * unary call, or the wait for each message of a stream. Default 30000.
   */
  readonly defaultTimeoutMs?: number;
  /** Messages a stream may send ahead of its consumer. Default 32. */
  readonly streamWindow?: number;
  /**
   * The caller token put in every request subject: this workload's name where the broker's permissions
   * (mesh/security `natsPermissions`) let it publish only with its own name. Default "_" (anonymous).
   */
  readonly caller?: string;
  /**
   * Prefix of the reply inbox, the connection's nats.js `inboxPrefix` (`_INBOX.<workload>` under the
   * generated permissions, which let only that workload subscribe there). Default "_INBOX".
   */
  readonly inboxPrefix?: string;
}

/** The caller token of a client that names no workload (its calls are anonymous). */
export const ANONYMOUS_CALLER = "_";

/** A single NATS subject token of letters, digits, "_" and "-". */
const TOKEN = /^[A-Za-z0-9_-]+$/;

const TIMEOUT_KEY = createContextKey<number | undefined>(undefined, { description: "weft nats attempt timeout" });

interface Codecs {
  readonly input: MessageCodec<DescMessage>;
  readonly output: MessageCodec<DescMessage>;
}

/** A transport to one instance; the mesh client's EndpointTransport shape. */
export interface NatsEndpointTransport extends Transport {
  /** Releases the endpoint. `graceful`: let calls in progress finish first; otherwise abort them. */
  close(graceful: boolean): void;
  /** The instance reconnected to NATS: calls sent before and unanswered after a grace fail UNAVAILABLE. */
  natsReconnected(): void;
}

/** The shared NATS RPC client of one mesh client; hands out per-endpoint transports. */
export interface NatsRpcClient {
  /** A transport to one instance (its `natsSubject`). */
  endpoint(endpoint: Endpoint): NatsEndpointTransport;
  /**
   * Fails every call in progress with UNAVAILABLE (idempotent ones may be retried): the connection
   * was lost and their replies will not come.
   */
  failAll(): void;
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
  const streamWindow = options.streamWindow ?? 32;
  if (!Number.isInteger(streamWindow) || streamWindow < 1) {
    throw new WeftOptionsError(OPTIONS, `options.streamWindow must be a positive integer, got ${String(streamWindow)}`);
  }
  const caller = options.caller ?? ANONYMOUS_CALLER;
  if (!TOKEN.test(caller)) throw new WeftOptionsError(OPTIONS, `options.caller must be one subject token (letters, digits, "_", "-"), got ${JSON.stringify(caller)}`);
  const inboxPrefix = options.inboxPrefix ?? "_INBOX";
  if (!/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(inboxPrefix)) throw new WeftOptionsError(OPTIONS, `options.inboxPrefix must be a NATS subject without wildcards, got ${JSON.stringify(inboxPrefix)}`);
  const interceptors = [...(options.interceptors ?? [])];
  const inbox = new ReplyInbox(nc, inboxPrefix);
  const codecs = new Map<DescMethodUnary, Codecs>();
  let nextCallId = 0;
  // The broker drops a request its permissions forbid and says so on the status stream only: the
  // calls waiting on that subject fail now, with the refusal's code, not at their deadline.
  const status = nc.status();
  void (async () => {
    for await (const s of status) {
      if (s.type !== "error" || !(s.error instanceof PermissionViolationError) || s.error.operation !== "publish") continue;
      inbox.failSubject(s.error.subject, new ConnectError(`the NATS broker refused to carry this request (${s.error.subject}: publish permission)`, Code.PermissionDenied));
    }
  })().catch(() => undefined);

  function codecsOf(method: DescMethodUnary): Codecs {
    let c = codecs.get(method);
    if (c === undefined) codecs.set(method, (c = { input: compileCodec(method.input), output: compileCodec(method.output) }));
    return c;
  }

  // The envelope and message of a call (none for a client stream: its messages follow); throws a
  // ConnectError when the message cannot be encoded.
  function encodeCall(codec: MessageCodec<DescMessage>, message: unknown, timeoutMs: number | undefined, header: HeadersInit | undefined, window?: number, clientStream = false) {
    const callId = (nextCallId = (nextCallId + 1) & CALL_ID_MASK);
    try {
      const timeout = timeoutMs === undefined ? undefined : Math.min(MAX_TIMEOUT_MS, Math.max(1, Math.floor(timeoutMs)));
      const metadata = header === undefined ? undefined : header instanceof Headers ? header : new Headers(header);
      const body = clientStream ? NO_BYTES : codec.toBinary(message as never);
      return { callId, payload: encodeRequest(callId, timeout, metadata, body, window, clientStream) };
    } catch (cause) {
      throw new ConnectError("cannot encode the request", Code.Internal, undefined, undefined, cause);
    }
  }

  // Publishes a request waiting on `slot`; undefined when sent, else the error (the handler never ran).
  function publish(slot: number, subject: string, payload: Uint8Array): ConnectError | undefined {
    try {
      nc.publish(subject, payload, { reply: inbox.subject(slot) });
      return undefined;
    } catch (cause) {
      inbox.settle(slot, true);
      return new ConnectError("NATS connection unavailable", Code.Unavailable, { [REFUSED_HEADER]: "not-sent" }, undefined, cause);
    }
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
    let call;
    try {
      call = encodeCall(input, message, timeoutMs, header);
    } catch (err) {
      return Promise.reject(err);
    }
    const { callId, payload } = call;
    const slot = inbox.take();
    return new Promise<UnaryResponse>((resolve, reject) => {
      const p: PendingUnary = {
        callId,
        instanceId: endpoint.instanceId,
        subject,
        method,
        output,
        resolve,
        reject,
        expiresAt: Date.now() + defaultTimeoutMs,
        timer: undefined,
        signal: undefined,
        onAbort: undefined,
      };
      inbox.wait(slot, p, timeoutMs, signal);
      const notSent = publish(slot, subject, payload);
      if (notSent !== undefined) reject(notSent);
    });
  }

  // Opens a stream. Server streaming: one request message, then the stream's messages as its consumer
  // takes them. Client and bidi streaming: the caller's messages follow as the server grants credit.
  async function openStream(
    endpoint: Endpoint,
    subject: string,
    method: DescMethodStreaming,
    input: AsyncIterable<unknown>,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
  ): Promise<StreamResponse> {
    const clientStream = method.methodKind !== "server_streaming";
    let message: unknown;
    if (!clientStream) {
      let count = 0;
      for await (const m of input) {
        message = m;
        if (++count > 1) throw new ConnectError("a server-streaming call takes one request message", Code.InvalidArgument);
      }
      if (count === 0) throw new ConnectError("a server-streaming call needs a request message", Code.InvalidArgument);
      message = isMessage(message, method.input) ? message : create(method.input, message as MessageInitShape<DescMessage>);
    }
    if (signal?.aborted) throw ConnectError.from(signal.reason, Code.Canceled);
    const { input: inputCodec, output } = codecsOf(method as unknown as DescMethodUnary);
    const { callId, payload } = encodeCall(inputCodec, message, timeoutMs, header, streamWindow, clientStream);
    const slot = inbox.take();
    const replySubject = inbox.subject(slot);
    const controlSubject = `${endpoint.natsSubject}.${caller}.${CONTROL_TOKEN}`;
    const sender = clientStream ? new StreamSender() : undefined;
    const stream = new NatsClientStream(callId, endpoint.instanceId, method, output, streamWindow, defaultTimeoutMs, {
      control(messages) {
        try {
          nc.publish(controlSubject, encodeControl(callId, replySubject, messages));
        } catch {
          // The connection closed: the server gives up the stream when no credit comes.
        }
      },
      finish(done) {
        sender?.stop();
        inbox.settle(slot, done);
      },
      credit: (messages) => sender?.grant(messages),
    });
    stream.subject = subject;
    const response = stream.response();
    inbox.wait(slot, stream, timeoutMs, signal);
    const notSent = publish(slot, subject, payload);
    if (notSent !== undefined) throw notSent;
    if (sender !== undefined) {
      // Throws a ConnectError when a message cannot go: the sender fails the call with it.
      const sendControl = (data: Uint8Array) => {
        const max = nc.info?.max_payload;
        if (max !== undefined && data.length > max) throw new ConnectError(`a request message larger than the NATS payload limit (${max} bytes)`, Code.ResourceExhausted);
        try {
          nc.publish(controlSubject, data);
        } catch (cause) {
          throw new ConnectError("NATS connection unavailable", Code.Unavailable, undefined, undefined, cause);
        }
      };
      void sender.run(input, {
        message(seq, value) {
          let bytes: Uint8Array;
          try {
            bytes = inputCodec.toBinary(isMessage(value, method.input) ? value : create(method.input, value as MessageInitShape<DescMessage>));
          } catch (cause) {
            throw new ConnectError("cannot encode a request message", Code.Internal, undefined, undefined, cause);
          }
          sendControl(encodeStreamMessage(callId, replySubject, seq, bytes));
          stream.touch();
        },
        end: (count) => sendControl(encodeStreamEnd(callId, replySubject, count)),
        fail: (err) => stream.reject(err),
      });
    }
    return response;
  }

  return {
    endpoint(endpoint) {
      // "<instance subject>.<caller>.<package.Service>.<Method>", built once per method.
      const subjects = new Map<DescMethodUnary | DescMethodStreaming, string>();
      const subjectOf = (method: DescMethodUnary | DescMethodStreaming): string => {
        let subject = subjects.get(method);
        if (subject === undefined) subjects.set(method, (subject = `${endpoint.natsSubject}.${caller}.${method.parent.typeName}.${method.name}`));
        return subject;
      };
      // Interceptors may replace the request object, so the timeout travels in its context values.
      let chain = (req: UnaryRequest | StreamRequest): Promise<UnaryResponse | StreamResponse> => {
        const timeout = req.contextValues.get(TIMEOUT_KEY);
        if (req.stream) {
          const method = req.method as DescMethodStreaming;
          return openStream(endpoint, subjectOf(method), method, req.message, req.signal, timeout, req.header);
        }
        const method = req.method as DescMethodUnary;
        return send(endpoint, subjectOf(method), method, req.message, req.signal, timeout, req.header);
      };
      // What the interceptors see of a call besides its kind and message; the attempt's timeout
      // travels in the context values, since interceptors may replace the request object.
      const requestFields = (m: DescMethodUnary | DescMethodStreaming, signal: AbortSignal | undefined, timeoutMs: number | undefined, header: HeadersInit | undefined, contextValues: ContextValues | undefined) => {
        const values = contextValues ?? createContextValues();
        values.set(TIMEOUT_KEY, timeoutMs);
        return {
          service: m.parent, requestMethod: "POST", url: `nats:${subjectOf(m)}`, signal: signal as AbortSignal,
          header: header instanceof Headers ? header : new Headers(header), contextValues: values,
        };
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
          const req: UnaryRequest = { ...requestFields(m, signal, timeoutMs, header, contextValues), stream: false, method: m, message };
          return chain(req) as unknown as Promise<UnaryResponse<I, O>>;
        },
        stream<I extends DescMessage, O extends DescMessage>(
          method: DescMethodStreaming<I, O>,
          signal: AbortSignal | undefined,
          timeoutMs: number | undefined,
          header: HeadersInit | undefined,
          input: AsyncIterable<MessageInitShape<I>>,
          contextValues?: ContextValues,
        ): Promise<StreamResponse<I, O>> {
          const m = method as unknown as DescMethodStreaming;
          if (interceptors.length === 0) {
            return openStream(endpoint, subjectOf(m), m, input, signal, timeoutMs, header) as unknown as Promise<StreamResponse<I, O>>;
          }
          const req: StreamRequest = { ...requestFields(m, signal, timeoutMs, header, contextValues), stream: true, method: m, message: input as AsyncIterable<never> };
          return chain(req) as unknown as Promise<StreamResponse<I, O>>;
        },
        close(graceful) {
          if (!graceful) inbox.failInstance(endpoint.instanceId, INSTANCE_GONE_GRACE_MS); // a drained instance still answers
        },
        natsReconnected() {
          // Replies of handlers that were running go out once the instance is connected again: the grace keeps them.
          inbox.failInstance(endpoint.instanceId, INSTANCE_GONE_GRACE_MS);
        },
      };
    },
    failAll() {
      inbox.failAll();
    },
    close() {
      (status as { stop?: () => void }).stop?.();
      inbox.close();
    },
  };
}
