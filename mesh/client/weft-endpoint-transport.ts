// gRPC over HTTP/2 to one endpoint through Weft's own client transport (mesh/transport): one
// multiplexed HTTP/2 session per endpoint, replaced after GOAWAY.

import { createWeftGrpcTransport } from "../transport/index.ts";
import type { Endpoint } from "../discovery/index.ts";
import type { EndpointTransport } from "./endpoint-transport.ts";
import type { Http2EndpointOptions } from "./http2-endpoint-transport.ts";

/** Creates a gRPC transport to `endpoint.address` on Weft's HTTP/2 client. */
export function createWeftEndpointTransport(endpoint: Endpoint, options: Http2EndpointOptions = {}): EndpointTransport {
  const tlsOf = options.tls;
  const secure = tlsOf?.(endpoint) !== undefined;
  const transport = createWeftGrpcTransport({
    baseUrl: `${secure ? "https" : "http"}://${endpoint.address}`,
    tls: secure ? () => tlsOf!(endpoint) ?? {} : undefined,
    interceptors: [...(options.interceptors ?? [])],
    readMaxBytes: options.readMaxBytes,
    writeMaxBytes: options.writeMaxBytes,
    idleTimeoutMs: options.idleConnectionTimeoutMs,
  });
  const unsubscribe = secure ? options.onTlsRotate?.(() => transport.refreshConnections()) : undefined;
  return {
    // Bound, not `(...args) => transport.unary(...args)`: rest parameters allocate an array per call.
    unary: transport.unary.bind(transport),
    stream: transport.stream.bind(transport),
    // Weft's transport closes gracefully only; an endpoint that vanished has no live calls worth keeping.
    close: () => {
      unsubscribe?.();
      transport.close();
    },
  };
}
