// What Weft's client transports (gRPC and Connect) are: a connect-es Transport that counts its calls.

import type { Transport } from "@connectrpc/connect";

/** A connect-es Transport over one Weft HTTP/2 (or HTTP/1.1) connection. */
export interface WeftTransport extends Transport {
  /** Calls in flight plus calls queued for a slot (for least-outstanding load balancing). */
  readonly outstanding: number;
  /** Closes the connection gracefully; in-flight calls finish, later calls fail with UNAVAILABLE. */
  close(): void;
}
