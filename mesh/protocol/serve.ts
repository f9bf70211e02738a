// Serve a list of services with Weft's engine on one port, without the host: HTTP/1.1 and h2c (prior
// knowledge) on one cleartext port, or h2 and http/1.1 by ALPN under TLS. Used by benchmarks, the
// interop matrix and anyone who wants the engine alone; production services use mesh/host.

import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import * as tls from "node:tls";
import type { Interceptor } from "@connectrpc/connect";
import { createWeftEngine } from "./engine.ts";
import type { WeftEngineOptions } from "./engine.ts";
import type { ServiceRegistration } from "../host/engine.ts";
import { createCorsPolicy } from "../host/cors.ts";
import { createCallGate } from "../host/host-interceptors.ts";
import { InFlightTracker } from "../host/in-flight.ts";
import { silentLogger } from "../host/logger.ts";
import type { HostLogger } from "../host/logger.ts";
import { WeftOptionsError } from "../errors/index.ts";

/** Code of this file's invalid-option errors (see mesh/errors/codes.ts). */
const OPTIONS = "WEFT_ERR_PROTOCOL_OPTIONS";

/** Options of `serveWeft`. */
export interface ServeWeftOptions extends WeftEngineOptions {
  /** Services to serve. Required, at least one. */
  readonly services: readonly ServiceRegistration[];
  /** Port to listen on; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** Address to bind. Default "127.0.0.1". */
  readonly host?: string;
  /** Interceptors around every call, outermost first. Default none. */
  readonly interceptors?: readonly Interceptor[];
  /** Largest request message in bytes (after decompression). Default 4 MiB. */
  readonly readMaxBytes?: number;
  /** Largest response message in bytes. Default 4 MiB. */
  readonly writeMaxBytes?: number;
  /** Largest timeout a client may ask for, in ms; 0 = no cap. Default 300000 (5 minutes). */
  readonly maxTimeoutMs?: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection. Default 1000. */
  readonly maxConcurrentStreams?: number;
  /** Largest request header block in bytes (HTTP/2 max header list size, HTTP/1.1 max header size). Default 16 KiB. */
  readonly maxHeaderBytes?: number;
  /** Origins allowed to call from a browser ("*" for any). Default none. */
  readonly corsOrigins?: readonly string[];
  /** TLS key and certificate (PEM). When set, the port speaks TLS with ALPN h2 and http/1.1. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer; readonly ca?: string | Buffer };
  /** Where engine errors go. Default: dropped. */
  readonly logger?: HostLogger;
}

/** A running standalone server. */
export interface WeftServer {
  /** The port actually bound. */
  readonly port: number;
  /** "http://host:port" or "https://host:port". */
  readonly url: string;
  /** Stops accepting, aborts in-flight handlers' signals and closes every connection. */
  close(): Promise<void>;
}

const MIB = 1024 * 1024;

function positiveInt(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new WeftOptionsError(OPTIONS, `options.${name} must be a ${allowZero ? "non-negative" : "positive"} integer`);
  }
  return value;
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Starts serving. Resolves once listening. */
export async function serveWeft(options: ServeWeftOptions): Promise<WeftServer> {
  if (!Array.isArray(options.services) || options.services.length === 0) throw new WeftOptionsError(OPTIONS, "options.services must list at least one service");
  const port = positiveInt("port", options.port, 0, true);
  const host = options.host ?? "127.0.0.1";
  const readMaxBytes = positiveInt("readMaxBytes", options.readMaxBytes, 4 * MIB);
  const writeMaxBytes = positiveInt("writeMaxBytes", options.writeMaxBytes, 4 * MIB);
  const maxTimeoutMs = positiveInt("maxTimeoutMs", options.maxTimeoutMs, 300_000, true);
  const maxConcurrentStreams = positiveInt("maxConcurrentStreams", options.maxConcurrentStreams, 1000);
  const maxHeaderBytes = positiveInt("maxHeaderBytes", options.maxHeaderBytes, 16 * 1024);

  const shutdown = new AbortController();
  const h1 = http.createServer({ maxHeaderSize: maxHeaderBytes, keepAliveTimeout: 65_000 });
  const h2 = http2.createServer({ settings: { maxConcurrentStreams, maxHeaderListSize: maxHeaderBytes } });
  const logger = options.logger ?? silentLogger;
  const attachment = createWeftEngine(options).attach({ http1: h1, http2: h2 }, {
    services: options.services,
    interceptors: options.interceptors ?? [],
    // No drain and no host services here: every call is admitted and counted, errors sanitised as the host does.
    calls: createCallGate({ draining: false, inFlight: new InFlightTracker(), infrastructure: new Set(), logger }),
    limits: { readMaxBytes, writeMaxBytes, maxTimeoutMs },
    cors: createCorsPolicy(options.corsOrigins ?? []),
    shutdownSignal: shutdown.signal,
    logger,
  });

  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };

  let server: net.Server;
  if (options.tls !== undefined) {
    server = tls.createServer({ ...options.tls, ALPNProtocols: ["h2", "http/1.1"] }, (socket) => {
      track(socket);
      if (socket.alpnProtocol === "h2") h2.emit("connection", socket);
      else h1.emit("connection", socket);
    });
  } else {
    server = net.createServer((socket) => {
      track(socket);
      socket.setNoDelay(true);
      // Peek at the first bytes: the HTTP/2 preface means h2c prior knowledge, anything else HTTP/1.1.
      socket.once("readable", function route() {
        const first: Buffer | null = socket.read();
        if (first === null) {
          socket.once("readable", route);
          return;
        }
        socket.unshift(first);
        const n = Math.min(first.length, H2_PREFACE.length);
        if (first.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) h2.emit("connection", socket);
        else h1.emit("connection", socket);
      });
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as net.AddressInfo).port;
  return {
    port: bound,
    url: `${options.tls !== undefined ? "https" : "http"}://${host}:${bound}`,
    async close() {
      shutdown.abort();
      attachment.detach();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.close();
        h1.closeIdleConnections();
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 100).unref();
      });
    },
  };
}
