// Public entry of mesh/client: typed clients over discovered endpoints, gRPC over HTTP/2 or Connect
// over NATS (mesh/nats-rpc), with balancing, deadlines, safe retries, hedging and outlier ejection.

export type { MeshClient, MeshClientStats } from "./mesh-client.ts";
export { createMeshClient } from "./mesh-client.ts";
export type { BalancerOptions, HedgingOptions, MeshClientOptions, RetryOptions, ServiceOptions } from "./options.ts";
export type { EndpointTransport, TransportKind } from "./endpoint-transport.ts";
export type { EndpointSnapshot } from "./endpoint-pool.ts";
export type { CallStats } from "./service-transport.ts";
export type { Http2EndpointOptions } from "./http2-endpoint-transport.ts";
export { createHttp2EndpointTransport } from "./http2-endpoint-transport.ts";
export type { FailureClass } from "./failure.ts";
export { classifyFailure } from "./failure.ts";
