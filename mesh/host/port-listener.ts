// One TCP port for HTTP/1.1 and HTTP/2 cleartext (prior knowledge).
//
// Node's http2 `allowHTTP1` only works under TLS, so the host accepts on a `net` server, reads the first
// bytes, and hands the socket to the HTTP/2 server when they are the h2 preface ("PRI * HTTP/2.0"), to
// the HTTP/1.1 server otherwise. Garbage goes to the HTTP/1.1 parser, which answers 400 and closes.
// Under TLS, ALPN decides instead (h2, else http/1.1); with client certificates required, each
// connection's peer identity is read once after the handshake and kept on the socket and its session.

import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import { PEER_IDENTITY, type PeerCarrier } from "../protocol/index.ts";
import { H2_REFUSAL, HTTP1_REFUSAL } from "./connection-refusal.ts";
import { closeSessionGracefully } from "./graceful-goaway.ts";
import { HostError, HostErrorCode } from "./errors.ts";
import { errorFields, type HostLogger } from "../engine/index.ts";

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Open-stream count of an HTTP/2 session, kept on the session (no per-stream closure or map lookup). */
const kOpenStreams = Symbol("weft.openStreams");
/** Streams ever opened on a session (the idle sweep compares it between rounds). */
const kStreamsOpened = Symbol("weft.streamsOpened");
/** What the idle sweep last saw: the opened-stream count and when it last changed. */
const kIdleMark = Symbol("weft.idleMark");
/** The session a stream belongs to (a stream forgets it once destroyed). */
const kSession = Symbol("weft.session");
/** When a session must be closed for its age (performance.now() based), with jitter; absent for no limit. */
const kCloseAt = Symbol("weft.closeAt");
type CountedSession = http2.ServerHttp2Session & PeerCarrier & { [kOpenStreams]?: number; [kStreamsOpened]?: number; [kIdleMark]?: { opened: number; since: number }; [kCloseAt]?: number };
type CountedStream = http2.ServerHttp2Stream & { [kSession]?: CountedSession };

/** Shared 'close' listener of every HTTP/2 stream. */
function onStreamClose(this: CountedStream): void {
  const session = this[kSession];
  if (session !== undefined) session[kOpenStreams] = (session[kOpenStreams] ?? 1) - 1;
}

/** 'request' listener while going away: the response closes its connection. */
function onRequestGoingAway(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.shouldKeepAlive = false;
}

/** Longest pause between two idle sweeps of the HTTP/2 sessions. */
const MAX_IDLE_SWEEP_MS = 5_000;

/** How long to wait for in-flight responses to flush when closing, before destroying sockets. */
const CLOSE_FLUSH_MS = 2_000;

/** Longest wait for a client's PING ack between the two GOAWAY steps (see graceful-goaway.ts). */
const GOAWAY_PING_TIMEOUT_MS = 1_000;

/** Options of the port listener (already validated by the host). */
export interface PortListenerOptions {
  readonly maxHeaderListBytes: number;
  readonly maxConcurrentStreams: number;
  readonly idleTimeoutMs: number;
  /** Time to finish the HTTP/2 preface and SETTINGS, or an HTTP/1.1 request's headers. */
  readonly firstRequestTimeoutMs: number;
  /** Time to receive an HTTP/1.1 request's body after its headers (0 = none). */
  readonly requestBodyTimeoutMs: number;
  /** Most open connections; more are refused in their own protocol. */
  readonly maxConnections: number;
  /** Largest request any method accepts: an `Expect: 100-continue` above it gets 413 at once. */
  readonly maxRequestBytes: number;
  readonly logger: HostLogger;
  /** TLS for the port; undefined for cleartext. */
  readonly tls: HostTlsOptions | undefined;
  /** Close (GOAWAY) HTTP/2 connections older than this, +-10%, in ms; 0 = never. */
  readonly maxConnectionAgeMs: number;
}

/** TLS key material for the port (PEM). */
export interface HostTlsMaterial {
  /** Private key (PEM). */
  readonly key: string | Buffer;
  /** Certificate chain (PEM, leaf first). */
  readonly cert: string | Buffer;
  /** CA certificates for client certificates (PEM): when set, clients must present one they issued. */
  readonly ca?: string | Buffer;
}

/** TLS for the host's port: h2 and http/1.1 chosen by ALPN, optionally mutual. */
export interface HostTlsOptions extends HostTlsMaterial {
  /**
   * Require a client certificate that chains to `ca` (mutual TLS): connections without one fail in the
   * handshake, before any request. Default: true when `ca` is set.
   */
  readonly requireClientCertificate?: boolean;
  /** Lowest TLS version accepted. Default "TLSv1.2"; mesh traffic uses "TLSv1.3". */
  readonly minVersion?: tls.SecureVersion;
  /**
   * Reads a connection's verified peer identity once, after the handshake; handlers and call hooks see
   * it on every call of that connection. With `requireClientCertificate`, a connection whose certificate
   * proves no identity (undefined) is closed at once. Default: none.
   */
  readonly identifyPeer?: (socket: tls.TLSSocket) => string | undefined;
  /**
   * Subscribes to new key material (certificate rotation): the host swaps its secure context, so new
   * connections use the new material and established ones go on. Returns an unsubscribe function.
   */
  readonly subscribe?: (apply: (next: HostTlsMaterial) => void) => () => void;
}

/** The deadline timer of a connection that has not yet finished its HTTP/2 preface. */
const kFirstRequestTimer = Symbol("weft.firstRequestTimer");
type TimedSocket = net.Socket & { [kFirstRequestTimer]?: NodeJS.Timeout };

/** Destroys a socket that missed its first-request deadline. */
function onFirstRequestDeadline(socket: net.Socket): void {
  socket.destroy();
}

/** True when an HTTP/1.1 request carries more than one Host header (RFC 9112 section 3.2: answer 400). */
function hasDuplicateHost(req: http.IncomingMessage): boolean {
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 4 && name.toLowerCase() === "host" && ++hosts > 1) return true;
  }
  return false;
}

/** Answers a request the host refuses before any engine sees it, and closes the connection. */
function refuseRequest(res: http.ServerResponse, status: number, text: string): void {
  res.shouldKeepAlive = false;
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text) + 1, connection: "close" });
  res.end(`${text}\n`);
}

/** "h2" / "http1" once the first bytes decide it, "more" while they are a strict prefix of the preface. */
export function classifyFirstBytes(bytes: Buffer): "h2" | "http1" | "more" {
  const n = Math.min(bytes.length, H2_PREFACE.length);
  if (bytes.compare(H2_PREFACE, 0, n, 0, n) !== 0) return "http1";
  return n === H2_PREFACE.length ? "h2" : "more";
}

/** The host's listening socket and its HTTP/1.1 and HTTP/2 servers. */
export class PortListener {
  /** Serves HTTP/1.1 connections (engines attach `request` listeners). */
  readonly http1: http.Server;
  /** Serves HTTP/2 prior-knowledge connections (engines attach `stream` or `request` listeners). */
  readonly http2: http2.Http2Server;
  readonly #net: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #sessions = new Set<CountedSession>();
  readonly #closingSessions = new WeakSet<http2.ServerHttp2Session>();
  #idleSweep: NodeJS.Timeout | undefined = undefined;
  readonly #options: PortListenerOptions;
  #goingAway = false;
  #closed = false;
  #unsubscribeTls: (() => void) | undefined = undefined;

  constructor(options: PortListenerOptions) {
    this.#options = options;
    const { logger } = options;
    const bodyMs = options.requestBodyTimeoutMs;
    this.http1 = http.createServer({
      maxHeaderSize: options.maxHeaderListBytes,
      keepAliveTimeout: options.idleTimeoutMs,
      noDelay: true,
      // Node's own clocks for slow HTTP/1.1 clients: headers, then the whole request, checked this often.
      headersTimeout: options.firstRequestTimeoutMs,
      requestTimeout: bodyMs === 0 ? 0 : options.firstRequestTimeoutMs + bodyMs,
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(Math.min(options.firstRequestTimeoutMs, bodyMs || Infinity) / 4))),
    });
    this.#guardHttp1(options.maxRequestBytes);
    // During a drain, every HTTP/1.1 response closes its connection so clients reconnect elsewhere
    // (the listener is added, ahead of the engine's, only once the drain starts: see #goAway).
    this.http2 = http2.createServer({
      // nghttp2 enforces its own settings once the client has acknowledged them (a client's very first
      // header block may race the SETTINGS frame; maxHeaderListPairs and maxSessionMemory still apply).
      settings: {
        maxConcurrentStreams: options.maxConcurrentStreams,
        maxHeaderListSize: options.maxHeaderListBytes,
      },
      // Node's protective defaults (maxSessionMemory, maxHeaderListPairs, invalid-frame and
      // rapid-reset limits) are kept on purpose.
    });
    this.http2.on("session", (session: CountedSession) => {
      const timer = (session.socket as TimedSocket | undefined)?.[kFirstRequestTimer];
      // The client's SETTINGS (which follow the preface) end the first-request deadline.
      if (timer !== undefined) session.once("remoteSettings", () => clearTimeout(timer));
      this.#sessions.add(session);
      session[kOpenStreams] = 0;
      session[kStreamsOpened] = 0;
      // The identity read at the handshake travels with the session, where engines look for it.
      const peer = (session.socket as PeerCarrier | undefined)?.[PEER_IDENTITY];
      if (peer !== undefined) session[PEER_IDENTITY] = peer;
      // Jittered so that connections opened together (a restart) do not all reconnect together.
      if (options.maxConnectionAgeMs > 0) session[kCloseAt] = performance.now() + options.maxConnectionAgeMs * (0.9 + Math.random() * 0.2);
      session.once("close", () => this.#sessions.delete(session));
      // Session errors come from peers (bad frames, resets): worth a line, not an alarm.
      session.on("error", (err) => logger.info("http2 session error", errorFields(err)));
    });
    this.http2.on("stream", (stream: CountedStream) => {
      const session = stream.session as CountedSession | undefined;
      if (session === undefined) return;
      session[kOpenStreams] = (session[kOpenStreams] ?? 0) + 1;
      session[kStreamsOpened] = (session[kStreamsOpened] ?? 0) + 1;
      stream[kSession] = session;
      stream.on("close", onStreamClose);
    });
    // Idle HTTP/2 connections: closed (GOAWAY) by a periodic sweep, and only those with no call in
    // progress (a long, quiet call such as a slow handler or a health Watch keeps its connection).
    // Not Node's session timeout: its per-stream timer bookkeeping keeps every finished stream
    // reachable until the timer list moves on, which made young-generation GC far costlier per call.
    if (options.idleTimeoutMs > 0) {
      const every = Math.max(10, Math.min(MAX_IDLE_SWEEP_MS, Math.floor(options.idleTimeoutMs / 4), options.maxConnectionAgeMs > 0 ? Math.floor(options.maxConnectionAgeMs / 10) : Infinity));
      this.#idleSweep = setInterval(() => this.#closeIdleSessions(), every);
      this.#idleSweep.unref();
    }
    this.http2.on("sessionError", (err: Error) => logger.info("http2 session error", errorFields(err)));
    const secure = options.tls;
    if (secure === undefined) {
      this.#net = net.createServer({ noDelay: true }, (socket) => this.#accept(socket));
    } else {
      const server = tls.createServer({ ...tlsServerOptions(secure, secure), ALPNProtocols: ["h2", "http/1.1"], noDelay: true, handshakeTimeout: options.firstRequestTimeoutMs }, (socket) => this.#acceptTls(socket));
      this.#net = server;
      this.#unsubscribeTls = secure.subscribe?.((next) => {
        try {
          server.setSecureContext(tlsServerOptions(secure, next));
          logger.info("tls credentials rotated", {});
        } catch (err) {
          logger.error("tls credentials not applied", errorFields(err as Error));
        }
      });
      // Failed handshakes (no or bad client certificate) are the peer's business: a line, not an alarm.
      server.on("tlsClientError", (err) => logger.info("tls handshake refused", errorFields(err)));
    }
    // Before listening, listen() rejects with the error (one start-up line); only later ones are logged.
    this.#net.on("error", (err) => {
      if (this.#net.listening) logger.error("listener error", errorFields(err));
    });
  }

  /** Listens on `hostname:port`; resolves the bound port (useful with port 0). */
  listen(hostname: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        reject(new HostError(HostErrorCode.listen, `cannot listen on ${hostname}:${port}: ${err.message}`, { cause: err }));
      };
      this.#net.once("error", onError);
      this.#net.listen({ host: hostname, port }, () => {
        this.#net.removeListener("error", onError);
        // The HTTP/1.1 server never listens itself, but Node starts its connection tracking (which
        // enforces headersTimeout/requestTimeout and backs closeIdleConnections) on "listening".
        this.http1.emit("listening");
        resolve((this.#net.address() as net.AddressInfo).port);
      });
    });
  }

  /**
   * Starts a drain at the connection level: every later HTTP/1.1 response carries `Connection: close`.
   * HTTP/2 sessions are left open on purpose: Node answers a GOAWAY by refusing streams already on
   * the wire (REFUSED_STREAM, which some clients report as INTERNAL), so new calls are refused with
   * UNAVAILABLE by the host's admission interceptor instead, and GOAWAY waits for `close()`.
   */
  startDraining(): void {
    this.#goAway();
  }

  /**
   * Two refusals before any engine sees a request: two Host headers (400), and `Expect: 100-continue`
   * with a Content-Length no method accepts (413 at once, so the client never sends the body). Node
   * emits 'request' to every listener, so the check sits in the server's own emit.
   */
  #guardHttp1(maxRequestBytes: number): void {
    const server = this.http1;
    const emit = server.emit.bind(server);
    server.emit = ((event: string, ...args: unknown[]) => {
      if (event === "request" && hasDuplicateHost(args[0] as http.IncomingMessage)) {
        refuseRequest(args[1] as http.ServerResponse, 400, "bad request: more than one Host header");
        return true;
      }
      return emit(event, ...args);
    }) as typeof server.emit;
    server.on("checkContinue", (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (Number(req.headers["content-length"]) > maxRequestBytes) {
        refuseRequest(res, 413, `request body too large: at most ${maxRequestBytes} bytes`);
        return;
      }
      res.writeContinue();
      server.emit("request", req, res);
    });
  }

  /** From now on every HTTP/1.1 response carries `Connection: close`; idempotent. */
  #goAway(): void {
    if (this.#goingAway) return;
    this.#goingAway = true;
    // Prepended, so it runs before the engine's listener may answer within the 'request' event.
    this.http1.prependListener("request", onRequestGoingAway);
  }

  /**
   * Closes the sessions that had no open stream and opened none for at least idleTimeoutMs (checked
   * every sweep, so a session goes between idleTimeoutMs and idleTimeoutMs + one sweep interval).
   */
  #closeIdleSessions(): void {
    const now = performance.now();
    for (const session of this.#sessions) {
      const closeAt = session[kCloseAt];
      if (closeAt !== undefined && now >= closeAt && !session.closed) {
        // GOAWAY: the client opens a new connection for new calls; calls in flight here finish.
        void this.#closeGracefully(session);
        continue;
      }
      const opened = session[kStreamsOpened] ?? 0;
      const mark = session[kIdleMark];
      if (mark === undefined || mark.opened !== opened || (session[kOpenStreams] ?? 0) > 0) {
        session[kIdleMark] = { opened, since: now };
      } else if (now - mark.since >= this.#options.idleTimeoutMs && !session.closed) {
        // Idle, but a call may be on the wire right now: it must be answered, not lost with the socket.
        void this.#closeGracefully(session);
      }
    }
  }

  /** Closes a session in two GOAWAY steps, once (the idle sweep may see it again meanwhile). */
  #closeGracefully(session: http2.ServerHttp2Session): Promise<void> {
    if (this.#closingSessions.has(session)) return Promise.resolve();
    this.#closingSessions.add(session);
    return closeSessionGracefully(session, GOAWAY_PING_TIMEOUT_MS);
  }

  /**
   * Stops accepting, lets responses being written flush (up to 2 s), then destroys every remaining
   * connection. Resolves when the port is closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idleSweep !== undefined) clearInterval(this.#idleSweep);
    this.#unsubscribeTls?.();
    this.#goAway();
    this.http1.closeIdleConnections();
    const closed = new Promise<void>((resolve) => this.#net.close(() => resolve()));
    await Promise.all([...this.#sessions].map((session) => this.#closeGracefully(session)));
    if (this.#sockets.size > 0) {
      await new Promise<void>((resolve) => {
        // Referenced timers on purpose: the flush wait is bounded and must keep the process alive.
        const timer = setTimeout(resolve, CLOSE_FLUSH_MS);
        const check = setInterval(() => {
          // HTTP/1.1 connections become idle as their last response is written: close them then.
          this.http1.closeIdleConnections();
          if (this.#sockets.size === 0) {
            clearInterval(check);
            clearTimeout(timer);
            resolve();
          }
        }, 20);
      });
    }
    for (const session of this.#sessions) session.destroy();
    for (const socket of this.#sockets) socket.destroy();
    this.http1.closeAllConnections();
    // Stops the HTTP/1.1 connection-checking timer (the "not running" error is expected: it never listened).
    this.http1.close(() => {});
    await closed;
  }

  /**
   * Tracks a new connection: "closed" when the listener is (the socket is destroyed), "refuse" when it
   * is past maxConnections (answered once its protocol is known), else "serve".
   */
  #track(socket: net.Socket): "closed" | "refuse" | "serve" {
    if (this.#closed) {
      socket.destroy();
      return "closed";
    }
    // Resets and broken pipes are the client's business; never let them become uncaught exceptions.
    socket.on("error", () => {});
    const refuse = this.#sockets.size >= this.#options.maxConnections;
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
    // An absolute deadline (an idle timer would let a byte every few seconds keep it forever): until
    // the protocol is known, then for HTTP/2 until the client's SETTINGS arrive (HTTP/1.1: Node's
    // headersTimeout).
    const deadline = setTimeout(onFirstRequestDeadline, this.#options.firstRequestTimeoutMs, socket);
    (socket as TimedSocket)[kFirstRequestTimer] = deadline;
    socket.once("close", () => clearTimeout(deadline));
    return refuse ? "refuse" : "serve";
  }

  /** Hands a connection whose protocol is known to its server, or refuses it (past maxConnections). */
  #serve(socket: net.Socket, kind: "h2" | "http1", refuse: boolean): void {
    if (refuse) {
      // Read on (and drop) what the client still sends, so its close is seen; the first-request
      // deadline ends the socket if the client never closes.
      socket.end(kind === "h2" ? H2_REFUSAL : HTTP1_REFUSAL);
      socket.resume();
      return;
    }
    if (kind === "h2") {
      // The HTTP/2 session reads the socket's native handle itself and takes the bytes already
      // buffered in the stream; resuming the JS stream here would steal data from it.
      this.http2.emit("connection", socket);
    } else {
      clearTimeout((socket as TimedSocket)[kFirstRequestTimer]);
      // The HTTP/1.1 server reads through the JS stream, which must flow again.
      this.http1.emit("connection", socket);
      socket.resume();
    }
  }

  /** A TLS connection, handshake done: its peer identity is read once, then ALPN names the protocol. */
  #acceptTls(socket: tls.TLSSocket): void {
    const tracked = this.#track(socket);
    if (tracked === "closed") return;
    const secure = this.#options.tls!;
    if (secure.identifyPeer !== undefined) {
      const identity = secure.identifyPeer(socket);
      if (identity === undefined && isMutual(secure)) {
        this.#options.logger.info("tls peer refused: its certificate proves no acceptable identity", {});
        socket.destroy();
        return;
      }
      if (identity !== undefined) (socket as tls.TLSSocket & PeerCarrier)[PEER_IDENTITY] = identity;
    }
    this.#serve(socket, socket.alpnProtocol === "h2" ? "h2" : "http1", tracked === "refuse");
  }

  #accept(socket: net.Socket): void {
    const tracked = this.#track(socket);
    if (tracked === "closed") return;
    // A connection that never says anything is closed after the idle timeout, if that comes first.
    socket.setTimeout(this.#options.idleTimeoutMs, () => socket.destroy());
    let buffered: Buffer | undefined;
    const onData = (chunk: Buffer) => {
      buffered = buffered === undefined ? chunk : Buffer.concat([buffered, chunk]);
      const kind = classifyFirstBytes(buffered);
      if (kind === "more") return;
      socket.removeListener("data", onData);
      socket.pause();
      socket.setTimeout(0);
      socket.unshift(buffered);
      this.#serve(socket, kind, tracked === "refuse");
    };
    socket.on("data", onData);
  }
}

/** Node's server options for `material` under the settings of `secure`. */
function tlsServerOptions(secure: HostTlsOptions, material: HostTlsMaterial): tls.SecureContextOptions & tls.TlsOptions {
  const mutual = isMutual(secure);
  return {
    key: material.key,
    cert: material.cert,
    ca: material.ca,
    minVersion: secure.minVersion ?? "TLSv1.2",
    requestCert: mutual,
    rejectUnauthorized: mutual,
  };
}

/** Client certificates are required: explicitly, or by giving client CAs. */
function isMutual(secure: HostTlsOptions): boolean {
  return secure.requireClientCertificate ?? secure.ca !== undefined;
}
