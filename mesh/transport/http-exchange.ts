// One request/response exchange over HTTP/1.1 (node:http keep-alive agent) or HTTP/2 (the session
// pool's multiplexed session), behind one shape, so the Connect and gRPC-Web protocols are written once
// for both HTTP versions. The exchange owns the deadline, the caller's signal and the call slot.

import * as http from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import * as http2 from "node:http2";
import * as https from "node:https";
import type { Readable, Writable } from "node:stream";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ResolvedTransportOptions } from "./options.ts";
import { SessionPool, UNSENT, connectionError } from "./session-pool.ts";

const { NGHTTP2_CANCEL } = http2.constants;

/** The response side of an exchange. */
export interface ExchangeResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The response body. */
  readonly body: Readable;
  /** HTTP trailers, once the body ended (gRPC-Web and Connect carry theirs in the body). */
  trailers(): IncomingHttpHeaders | undefined;
}

/** One exchange: write the request body to `body`, await `response`. */
export interface Exchange {
  readonly body: Writable;
  readonly response: Promise<ExchangeResponse>;
  /** Ends the exchange locally: the response promise and body fail with `err`. */
  abort(err: ConnectError): void;
  /** Why the exchange ended locally (deadline, cancel, connection), if it did. */
  readonly failure: ConnectError | undefined;
}

/** Opens exchanges to one origin. */
export interface ExchangeOpener {
  /** Exchanges in flight (and, over HTTP/2, waiting for a slot). */
  readonly outstanding: number;
  open(method: "POST" | "GET", path: string, headers: Record<string, string | string[] | number>, signal: AbortSignal | undefined, timeoutMs: number | undefined): Promise<Exchange>;
  close(): void;
}

/** Deadline and signal around one exchange; `kill` is how the exchange is torn down. */
function guard(signal: AbortSignal | undefined, timeoutMs: number | undefined, kill: (err: ConnectError) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => kill(ConnectError.from(signal!.reason, Code.Canceled));
  if (timeoutMs !== undefined) timer = setTimeout(() => kill(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeoutMs);
  if (signal !== undefined) {
    if (signal.aborted) queueMicrotask(onAbort);
    else signal.addEventListener("abort", onAbort, { once: true });
  }
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  };
}

/** The local failure, or the caller's cancellation even when the response had fully arrived before it. */
function failureOf(failed: ConnectError | undefined, signal: AbortSignal | undefined): ConnectError | undefined {
  return failed ?? (signal?.aborted === true ? ConnectError.from(signal.reason, Code.Canceled) : undefined);
}

/** HTTP/1.1 with a keep-alive pool of `maxConcurrentCalls` sockets. */
export function createHttp1Opener(opts: ResolvedTransportOptions): ExchangeOpener {
  const secure = opts.url.protocol === "https:";
  const agent = secure
    ? new https.Agent({ keepAlive: true, maxSockets: opts.maxConcurrentCalls, ...(typeof opts.tls === "function" ? opts.tls() : (opts.tls ?? {})) })
    : new http.Agent({ keepAlive: true, maxSockets: opts.maxConcurrentCalls });
  let outstanding = 0;
  let closed = false;
  return {
    get outstanding() {
      return outstanding;
    },
    close() {
      closed = true;
      agent.destroy();
    },
    async open(method, path, headers, signal, timeoutMs) {
      if (closed) throw new ConnectError("transport is closed", Code.Unavailable, UNSENT);
      const req = (secure ? https : http).request({ agent, method, protocol: opts.url.protocol, hostname: opts.url.hostname, port: opts.url.port, path, headers });
      outstanding++;
      let done = false;
      let failed: ConnectError | undefined;
      let reject: (e: unknown) => void = () => {};
      const finish = () => {
        if (done) return;
        done = true;
        outstanding--;
        unguard();
      };
      const kill = (err: ConnectError) => {
        if (failed !== undefined) return;
        failed = err;
        finish();
        reject(err);
        req.destroy(err);
      };
      const unguard = guard(signal, timeoutMs, kill);
      const response = new Promise<ExchangeResponse>((resolve, rej) => {
        reject = rej;
        req.on("error", (e) => kill(e instanceof ConnectError ? e : connectionError(e)));
        req.on("response", (res) => {
          res.on("error", () => {});
          res.on("end", finish);
          res.on("close", finish);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, trailers: () => res.trailers });
        });
      });
      response.catch(() => {});
      return { body: req, response, abort: kill, get failure() { return failureOf(failed, signal); } };
    },
  };
}

/** HTTP/2: one multiplexed session (TLS with ALPN h2, or h2c prior knowledge). */
export function createHttp2Opener(opts: ResolvedTransportOptions): ExchangeOpener {
  const pool = new SessionPool({
    authority: opts.url.origin,
    connectOptions: () => ({ ...(typeof opts.tls === "function" ? opts.tls() : (opts.tls ?? {})), ALPNProtocols: ["h2"], peerMaxConcurrentStreams: opts.maxConcurrentCalls }),
    maxConcurrentCalls: opts.maxConcurrentCalls,
    maxQueuedCalls: opts.maxQueuedCalls,
    idleTimeoutMs: opts.idleTimeoutMs,
  });
  const scheme = opts.url.protocol === "https:" ? "https" : "http";
  return {
    get outstanding() {
      return pool.outstanding;
    },
    close() {
      pool.close();
    },
    async open(method, path, headers, signal, timeoutMs) {
      const wait = pool.acquire(signal);
      if (wait !== undefined) await wait;
      let session: http2.ClientHttp2Session;
      let stream: http2.ClientHttp2Stream;
      try {
        session = pool.session();
        stream = session.request({ ...headers, ":method": method, ":path": path, ":scheme": scheme, ":authority": opts.url.host }, { endStream: method === "GET" });
      } catch (e) {
        pool.release();
        throw connectionError(e, true);
      }
      let failed: ConnectError | undefined;
      let trailers: IncomingHttpHeaders | undefined;
      let reject: (e: unknown) => void = () => {};
      const kill = (err: ConnectError) => {
        if (failed !== undefined) return;
        failed = err;
        reject(err);
        if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
        stream.destroy(err);
      };
      const unguard = guard(signal, timeoutMs, kill);
      const response = new Promise<ExchangeResponse>((resolve, rej) => {
        reject = rej;
        stream.on("response", (h) => resolve({ status: Number(h[":status"]), headers: h, body: stream, trailers: () => trailers }));
        stream.on("trailers", (t) => {
          trailers = t;
        });
        stream.on("error", () => {});
        stream.on("close", () => {
          unguard();
          pool.release();
          if (failed === undefined) {
            const unsent = !pool.mayHaveReachedServer(session, stream) || stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM;
            rej(unsent ? new ConnectError("connection failed", Code.Unavailable, UNSENT) : new ConnectError(`stream closed without a response (code ${stream.rstCode})`, Code.Unavailable));
          }
        });
      });
      response.catch(() => {});
      return { body: stream, response, abort: kill, get failure() { return failureOf(failed, signal); } };
    },
  };
}

/** Writes `chunk`, waiting for drain when the socket is full; false when the exchange is gone. */
export async function writeWithBackpressure(body: Writable, chunk: Uint8Array): Promise<boolean> {
  if (body.destroyed || body.writableEnded) return false;
  if (body.write(chunk)) return true;
  await new Promise<void>((resolve) => {
    const done = () => {
      body.off("drain", done);
      body.off("close", done);
      resolve();
    };
    body.on("drain", done);
    body.on("close", done);
  });
  return !body.destroyed;
}
