// gRPC over HTTP/2 to one endpoint, with one HTTP/2 session per endpoint (connect-node's session
// manager: reconnects on demand, pings idle connections).

import type { Interceptor, Transport } from "@connectrpc/connect";
import type { Http2SessionManager } from "@connectrpc/connect-node";
import type { Endpoint } from "../discovery/index.ts";
import { WeftOptionsError } from "../errors/index.ts";
import type { TransportTlsOptions } from "../transport/index.ts";
import type { EndpointTransport } from "./endpoint-transport.ts";

/** Settings of the HTTP/2 endpoint transports. */
export interface Http2EndpointOptions {
  /** Interceptors run around every attempt (e.g. telemetry). Default none. */
  readonly interceptors?: readonly Interceptor[];
  /** Largest response message accepted, in bytes. Default 4 MiB. */
  readonly readMaxBytes?: number;
  /** Largest request message sent, in bytes. Default 4 MiB. */
  readonly writeMaxBytes?: number;
  /** Time allowed to establish a connection, in milliseconds. Default 2000. */
  readonly connectTimeoutMs?: number;
  /** Close a connection idle for this long, in milliseconds. Default 60000. */
  readonly idleConnectionTimeoutMs?: number;
  /**
   * TLS (mutual TLS between services) for connections to `endpoint`, read at each new connection;
   * undefined for cleartext h2c. Only Weft's HTTP/2 client (`http2Client: "weft"`) supports it.
   * Default: cleartext.
   */
  readonly tls?: (endpoint: Endpoint) => TransportTlsOptions | undefined;
  /**
   * Subscribes to credential rotation; on each, connections are retired gracefully (their calls finish)
   * and new ones use the new credentials. Returns an unsubscribe function. Default: none.
   */
  readonly onTlsRotate?: (listener: () => void) => () => void;
}

/** Creates a gRPC (HTTP/2, binary Protobuf) transport to `endpoint.address`. */
export function createHttp2EndpointTransport(endpoint: Endpoint, options: Http2EndpointOptions = {}): EndpointTransport {
  if (options.tls?.(endpoint) !== undefined) throw new WeftOptionsError("WEFT_ERR_CLIENT_OPTIONS", "options.http2.tls needs Weft's HTTP/2 client (http2Client: \"weft\")");
  const baseUrl = `http://${endpoint.address}`;
  const sessionOptions = {
    connectTimeoutMs: options.connectTimeoutMs ?? 2000,
    idleConnectionTimeoutMs: options.idleConnectionTimeoutMs ?? 60_000,
    pingIntervalMs: 10_000,
    pingTimeoutMs: 5_000,
  };
  // connect-node is loaded by the first transport built (only with http2Client: "connect-node").
  let loaded: { readonly transport: Transport; readonly sessionManager: Http2SessionManager } | undefined;
  let closed = false;
  const ready = import("@connectrpc/connect-node").then(({ createGrpcTransport, Http2SessionManager }) => {
    const sessionManager = new Http2SessionManager(baseUrl, sessionOptions);
    const transport = createGrpcTransport({
      baseUrl,
      sessionManager,
      interceptors: [...(options.interceptors ?? [])],
      readMaxBytes: options.readMaxBytes ?? 4 * 1024 * 1024,
      writeMaxBytes: options.writeMaxBytes ?? 4 * 1024 * 1024,
    });
    loaded = { transport, sessionManager };
    if (closed) sessionManager.abort();
    return loaded;
  });
  ready.catch(() => {});
  return {
    unary(method, signal, timeoutMs, header, input, contextValues) {
      if (loaded !== undefined) return loaded.transport.unary(method, signal, timeoutMs, header, input, contextValues);
      return ready.then((l) => l.transport.unary(method, signal, timeoutMs, header, input, contextValues));
    },
    stream(method, signal, timeoutMs, header, input, contextValues) {
      if (loaded !== undefined) return loaded.transport.stream(method, signal, timeoutMs, header, input, contextValues);
      return ready.then((l) => l.transport.stream(method, signal, timeoutMs, header, input, contextValues));
    },
    close(graceful) {
      if (closed) return;
      closed = true;
      const sessionManager = loaded?.sessionManager;
      if (sessionManager === undefined) return;
      if (!graceful) {
        sessionManager.abort();
        return;
      }
      // Let streams in progress finish; the session manager closes the idle session by itself, but do
      // not keep an idle socket to a drained endpoint around for a minute.
      const timer = setTimeout(() => sessionManager.abort(), 30_000);
      timer.unref();
    },
  };
}
