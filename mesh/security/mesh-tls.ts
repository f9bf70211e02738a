// A workload's mutual TLS as the host's and the mesh client's settings: the host requires client
// certificates and reads each connection's identity once; the client expects, per endpoint, the
// identity of the workload that serves it, and retires its connections when credentials rotate.

import type { Endpoint } from "../discovery/index.ts";
import type { Http2EndpointOptions } from "../client/index.ts";
import type { HostTlsOptions } from "../host/index.ts";
import type { WorkloadTls } from "./workload-tls.ts";

/** The host's `tls` option for `workload`: TLS 1.3, client certificates required, rotation applied. */
export function hostTlsOptions(workload: WorkloadTls): HostTlsOptions {
  const now = workload.current();
  return {
    key: now.keyPem,
    cert: now.certPem,
    ca: now.caPem,
    minVersion: "TLSv1.3",
    requireClientCertificate: true,
    identifyPeer: (socket) => workload.identify(socket)?.uri,
    subscribe: (apply) => workload.onRotate((next) => apply({ key: next.keyPem, cert: next.certPem, ca: next.caPem })),
  };
}

/**
 * The mesh client's HTTP/2 TLS settings for `workload`: a connection to an endpoint must prove
 * `expectedServer(endpoint)` (a SPIFFE URI); an endpoint whose expected identity is unknown is
 * refused (the connection fails before anything is sent). Endpoints for which `cleartext(endpoint)`
 * is true (a public edge, whose port is not mutual TLS) are called without TLS.
 */
export function meshClientTls(
  workload: WorkloadTls,
  expectedServer: (endpoint: Endpoint) => string | undefined,
  cleartext: (endpoint: Endpoint) => boolean = () => false,
): Pick<Http2EndpointOptions, "tls" | "onTlsRotate"> {
  return {
    tls: (endpoint) => (cleartext(endpoint) ? undefined : workload.clientOptions(expectedServer(endpoint))),
    onTlsRotate: (listener) => workload.onRotate(() => listener()),
  };
}
