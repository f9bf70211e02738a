// The per-endpoint transport the mesh client drives: a Connect `Transport` bound to one instance, that
// can be closed when the instance leaves. Swapping the HTTP/2 implementation (connect-node today,
// mesh/transport later) means providing another factory of this shape.

import type { Transport } from "@connectrpc/connect";
import type { Endpoint } from "../discovery/index.ts";

/** A transport to one endpoint. */
export interface EndpointTransport extends Transport {
  /**
   * Releases its connection. `graceful`: let calls in progress finish first (the endpoint drained);
   * otherwise abort them (the endpoint is gone).
   */
  close(graceful: boolean): void;
  /**
   * The instance reconnected to NATS (another server of the cluster): requests and replies in flight
   * through its old server may be gone, so calls sent before and still waiting after a grace fail
   * UNAVAILABLE (idempotent ones are retried). Transports that do not go through NATS leave it out.
   */
  natsReconnected?(): void;
}

/** Which wire a service's calls use. */
export type TransportKind = "grpc" | "nats";

/** Whether an endpoint can be reached by a transport kind. */
export function reachableBy(endpoint: Endpoint, kind: TransportKind): boolean {
  return kind === "grpc" ? endpoint.address !== "" : endpoint.natsSubject !== "";
}
