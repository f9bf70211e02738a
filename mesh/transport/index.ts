// Weft's client transports: connect-es `Transport`s for gRPC over HTTP/2, and Connect and gRPC-Web
// over HTTP/1.1 or HTTP/2.
export { createWeftGrpcTransport } from "./grpc-transport.ts";
export type { WeftTransport } from "./weft-transport.ts";
export { createWeftConnectTransport } from "./connect-transport.ts";
export { createWeftGrpcWebTransport } from "./grpc-web-transport.ts";
export type { WeftTransportOptions } from "./options.ts";
export { UNSENT } from "./session-pool.ts";
