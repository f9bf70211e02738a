// Connect over NATS request/reply, client side: one inbox subscription per mesh client, requests
// published to the chosen instance's own subject (so the balancer, not NATS, picks the instance), and
// replies matched by id. No per-request subscription, promise chain or stack trace beyond the minimum.

import { create, fromBinary, isMessage, toBinary, type DescMessage, type DescMethodUnary, type MessageInitShape } from "@bufbuild/protobuf";
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
import { createInbox, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import type { Endpoint } from "../discovery/index.ts";
import { REFUSED_HEADER } from "../resilience/index.ts";
import type { EndpointTransport } from "./endpoint-transport.ts";
import { copyToNats, errorFromNats, metadataFromNats, TIMEOUT_HEADER } from "./nats-rpc-protocol.ts";
import { WeftOptionsError } from "../errors/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_CLIENT_OPTIONS";

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

interface Pending {
  readonly instanceId: string;
  readonly method: DescMethodUnary;
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
  const pending = new Map<number, Pending>();
  let nextId = 0;

  function settle(id: number): Pending | undefined {
    const p = pending.get(id);
    if (p === undefined) return undefined;
    pending.delete(id);
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (p.onAbort !== undefined) p.signal!.removeEventListener("abort", p.onAbort);
    return p;
  }

  function onReply(msg: Msg): void {
    const p = settle(Number(msg.subject.slice(prefixLength)));
    if (p === undefined) return; // late reply after a deadline or cancel
    const h = msg.headers;
    if (h !== undefined) {
      if (msg.data.length === 0 && h.code === 503) {
        p.reject(new ConnectError("no responders on the instance's subject", Code.Unavailable, { [REFUSED_HEADER]: "no-responders" }));
        return;
      }
      const err = errorFromNats(h);
      if (err !== undefined) {
        p.reject(err);
        return;
      }
    }
    let message;
    try {
      message = fromBinary(p.method.output, msg.data);
    } catch (cause) {
      p.reject(new ConnectError("cannot decode the response", Code.Internal, undefined, undefined, cause));
      return;
    }
    if (h === undefined) {
      // Most replies carry no metadata: create the Headers objects only if someone reads them.
      p.resolve(new BareResponse(p.method, message));
      return;
    }
    const { header, trailer } = metadataFromNats(h);
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
    for (const [id, p] of pending) {
      if (p.timer === undefined && p.expiresAt <= now) {
        settle(id)?.reject(new ConnectError("no reply within the default timeout", Code.DeadlineExceeded));
      }
    }
  }, 1000);
  sweeper.unref();

  // "<instance subject>.<package.Service>.<Method>", built once per endpoint and method.
  const subjects = new WeakMap<Endpoint, Map<DescMethodUnary, string>>();
  function subjectOf(endpoint: Endpoint, method: DescMethodUnary): string {
    let byMethod = subjects.get(endpoint);
    if (byMethod === undefined) subjects.set(endpoint, (byMethod = new Map()));
    let subject = byMethod.get(method);
    if (subject === undefined) byMethod.set(method, (subject = `${endpoint.natsSubject}.${method.parent.typeName}.${method.name}`));
    return subject;
  }

  function send(
    endpoint: Endpoint,
    method: DescMethodUnary,
    message: UnaryRequest["message"],
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    header: HeadersInit | undefined,
  ): Promise<UnaryResponse> {
    if (signal?.aborted) return Promise.reject(ConnectError.from(signal.reason, Code.Canceled));
    let payload: Uint8Array;
    try {
      payload = toBinary(method.input, message);
    } catch (cause) {
      return Promise.reject(new ConnectError("cannot encode the request", Code.Internal, undefined, undefined, cause));
    }
    let h: MsgHdrs | undefined;
    if (timeoutMs !== undefined) {
      h = natsHeaders();
      h.set(TIMEOUT_HEADER, String(Math.max(1, Math.floor(timeoutMs))));
    }
    if (header !== undefined) h = copyToNats(header instanceof Headers ? header : new Headers(header), h);
    const id = ++nextId;
    return new Promise<UnaryResponse>((resolve, reject) => {
      const p: Pending = {
        instanceId: endpoint.instanceId,
        method,
        resolve,
        reject,
        expiresAt: Date.now() + defaultTimeoutMs,
        timer: undefined,
        signal: undefined,
        onAbort: undefined,
      };
      if (timeoutMs !== undefined) {
        p.timer = setTimeout(() => {
          settle(id)?.reject(new ConnectError("the operation timed out", Code.DeadlineExceeded));
        }, timeoutMs);
      }
      if (signal !== undefined) {
        p.signal = signal;
        p.onAbort = () => settle(id)?.reject(ConnectError.from(signal.reason, Code.Canceled));
        signal.addEventListener("abort", p.onAbort, { once: true });
      }
      pending.set(id, p);
      try {
        nc.publish(subjectOf(endpoint, method), payload, {
          reply: `${inbox}.${id}`,
          headers: h,
        });
      } catch (cause) {
        // Not sent at all (connection closed): the handler certainly never ran.
        settle(id);
        reject(new ConnectError("NATS connection unavailable", Code.Unavailable, { [REFUSED_HEADER]: "not-sent" }, undefined, cause));
      }
    });
  }

  return {
    endpoint(endpoint) {
      // Interceptors may replace the request object, so the timeout travels in its context values.
      const next = (req: UnaryRequest) =>
        send(endpoint, req.method as DescMethodUnary, req.message, req.signal, req.contextValues.get(TIMEOUT_KEY), req.header);
      return {
        unary<I extends DescMessage, O extends DescMessage>(
          method: DescMethodUnary<I, O>,
          signal: AbortSignal | undefined,
          timeoutMs: number | undefined,
          header: HeadersInit | undefined,
          input: MessageInitShape<I>,
          contextValues?: ContextValues,
        ): Promise<UnaryResponse<I, O>> {
          const message = isMessage(input, method.input) ? input : create(method.input, input);
          if (interceptors.length === 0) {
            return send(endpoint, method as unknown as DescMethodUnary, message, signal, timeoutMs, header) as unknown as Promise<UnaryResponse<I, O>>;
          }
          const req: UnaryRequest = {
            stream: false,
            service: method.parent,
            method: method as unknown as DescMethodUnary,
            requestMethod: "POST",
            url: `nats:${endpoint.natsSubject}.${method.parent.typeName}.${method.name}`,
            signal: signal as AbortSignal,
            header: header instanceof Headers ? header : new Headers(header),
            contextValues: contextValues ?? createContextValues(),
            message,
          };
          let chain = next;
          for (let i = interceptors.length - 1; i >= 0; i--) chain = interceptors[i](chain as never) as never;
          req.contextValues.set(TIMEOUT_KEY, timeoutMs);
          return chain(req) as unknown as Promise<UnaryResponse<I, O>>;
        },
        stream() {
          return Promise.reject(new ConnectError("streaming calls are not supported over NATS; use the grpc transport", Code.Unimplemented));
        },
        close(graceful) {
          if (graceful) return; // the instance drains: its replies still come
          for (const [id, p] of pending) {
            if (p.instanceId === endpoint.instanceId) {
              settle(id)?.reject(new ConnectError("the instance went away during the call", Code.Unavailable));
            }
          }
        },
      };
    },
    close() {
      clearInterval(sweeper);
      sub.unsubscribe();
      for (const id of [...pending.keys()]) settle(id)?.reject(new ConnectError("mesh client closed", Code.Unavailable, { [REFUSED_HEADER]: "not-sent" }));
    },
  };
}
