// One HTTP/2 session per endpoint, shared by every call to it, with bounded concurrency. A session that
// received GOAWAY or closed is replaced on the next call; calls already on it finish undisturbed.

import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import { Code, ConnectError } from "@connectrpc/connect";
import { REFUSED_HEADER } from "../engine/index.ts";

/** Options of a session pool (already validated). */
export interface SessionPoolOptions {
  readonly authority: string;
  /** Read at each new connection (TLS credentials may rotate). */
  readonly connectOptions: () => http2.SecureClientSessionOptions;
  readonly maxConcurrentCalls: number;
  readonly maxQueuedCalls: number;
  readonly idleTimeoutMs: number;
}

type Waiter = { resolve: () => void; reject: (e: unknown) => void; signal: AbortSignal | undefined; onAbort: (() => void) | undefined };

/**
 * Metadata marking an error as "the request never left this process or was refused unprocessed"
 * (connection never established, REFUSED_STREAM, local queue full, transport closed): the mesh client
 * may retry such a call elsewhere even when the method is not idempotent.
 */
export const UNSENT: Readonly<Record<string, string>> = Object.freeze({ [REFUSED_HEADER]: "unsent" });

/** Maps a session or socket error to a ConnectError (UNAVAILABLE). `unsent` when it provably never left. */
export function connectionError(err: unknown, unsent = false): ConnectError {
  if (err instanceof ConnectError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return new ConnectError(`connection failed${code !== undefined ? ` (${code})` : ""}`, Code.Unavailable, unsent ? UNSENT : undefined, undefined, err);
}

/** Opens the TCP (or TLS, ALPN h2) socket with Nagle off: small frames must not wait for ACKs. */
function connectSocket(authority: URL, options: http2.SessionOptions): net.Socket {
  const port = Number(authority.port || (authority.protocol === "https:" ? 443 : 80));
  const host = authority.hostname.replace(/^\[|\]$/g, "");
  if (authority.protocol === "https:") {
    const o = options as http2.SecureClientSessionOptions;
    const socket = tls.connect({ ...o, host, port, ALPNProtocols: ["h2"], servername: o.servername ?? (net.isIP(host) === 0 ? host : undefined) });
    socket.setNoDelay(true);
    return socket;
  }
  return net.connect({ host, port, noDelay: true });
}

export class SessionPool {
  readonly #opts: SessionPoolOptions;
  #session: http2.ClientHttp2Session | undefined = undefined;
  #active = 0;
  #queue: Waiter[] = [];
  #idleTimer: NodeJS.Timeout | undefined = undefined;
  #closed = false;
  readonly #connected = new WeakSet<http2.ClientHttp2Session>();
  // The last stream id each session's GOAWAY said the server processed: streams above it never ran.
  readonly #goawayLastStreamId = new WeakMap<http2.ClientHttp2Session, number>();

  constructor(opts: SessionPoolOptions) {
    this.#opts = opts;
  }

  /** Calls running plus calls waiting for a slot. */
  get outstanding(): number {
    return this.#active + this.#queue.length;
  }

  /** Waits for a call slot. RESOURCE_EXHAUSTED when the queue is full, CANCELED if `signal` aborts first. */
  acquire(signal: AbortSignal | undefined): Promise<void> | undefined {
    if (this.#closed) return Promise.reject(new ConnectError("transport is closed", Code.Unavailable, UNSENT));
    if (this.#active < this.#opts.maxConcurrentCalls) {
      this.#active++;
      this.#clearIdle();
      return undefined;
    }
    if (this.#queue.length >= this.#opts.maxQueuedCalls) {
      return Promise.reject(new ConnectError(`too many calls queued (maxQueuedCalls ${this.#opts.maxQueuedCalls})`, Code.ResourceExhausted, UNSENT));
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal !== undefined) {
        w.onAbort = () => {
          const i = this.#queue.indexOf(w);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(ConnectError.from(signal.reason, Code.Canceled));
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      this.#queue.push(w);
    });
  }

  /** Returns a call slot. */
  release(): void {
    const next = this.#queue.shift();
    if (next !== undefined) {
      if (next.onAbort !== undefined) next.signal!.removeEventListener("abort", next.onAbort);
      next.resolve();
      return;
    }
    this.#active--;
    if (this.#active === 0 && this.#opts.idleTimeoutMs > 0 && this.#session !== undefined) {
      this.#idleTimer = setTimeout(() => {
        this.#idleTimer = undefined;
        if (this.#active === 0) this.#session?.close();
      }, this.#opts.idleTimeoutMs);
      this.#idleTimer.unref();
    }
  }

  #clearIdle(): void {
    if (this.#idleTimer !== undefined) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
  }

  /** The live session, connecting if needed. */
  session(): http2.ClientHttp2Session {
    const s = this.#session;
    if (s !== undefined && !s.closed && !s.destroyed) return s;
    const created = http2.connect(this.#opts.authority, { ...this.#opts.connectOptions(), createConnection: connectSocket });
    created.on("error", () => {});
    created.once("connect", () => this.#connected.add(created));
    const forget = () => {
      if (this.#session === created) this.#session = undefined;
    };
    created.on("goaway", (_code: number, lastStreamId: number) => {
      this.#goawayLastStreamId.set(created, lastStreamId);
      forget();
    });
    created.on("close", forget);
    this.#session = created;
    return created;
  }

  /**
   * False when `stream` provably never reached a handler: its session never connected, the stream never
   * got an id, or the server's GOAWAY named a last processed stream below it. A stream the server then
   * closes without a response is safe to retry elsewhere, whatever the method.
   */
  mayHaveReachedServer(session: http2.ClientHttp2Session, stream: http2.ClientHttp2Stream): boolean {
    if (!this.#connected.has(session)) return false;
    const id = stream.id;
    if (id === undefined) return false;
    const last = this.#goawayLastStreamId.get(session);
    return last === undefined || id <= last;
  }

  /** Retires the live session gracefully (running calls finish); the next call connects anew. */
  refresh(): void {
    const s = this.#session;
    this.#session = undefined;
    s?.close();
  }

  /** Closes the session gracefully (running calls finish); later calls fail with UNAVAILABLE. */
  close(): void {
    this.#closed = true;
    this.#clearIdle();
    for (const w of this.#queue.splice(0)) w.reject(new ConnectError("transport is closed", Code.Unavailable, UNSENT));
    this.#session?.close();
    this.#session = undefined;
  }
}
