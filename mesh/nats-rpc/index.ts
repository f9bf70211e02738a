// Public entry of mesh/nats-rpc: Connect over NATS request/reply, both halves. The client hands out
// per-endpoint transports for the mesh client; the server answers a service's methods (all
// four call kinds) on an instance's subject. The wire format is in docs/protocol.md.

export type { NatsEndpointTransport, NatsRpcClient, NatsRpcClientOptions } from "./client-transport.ts";
export { ANONYMOUS_CALLER, createNatsRpcClient } from "./client-transport.ts";
export { CONNECTION_LOST_CODE } from "./reply-inbox.ts";
export type { NatsRpcServer, NatsRpcServerOptions, VerifiedCallers } from "./server.ts";
export { createNatsRpcServer } from "./server.ts";
