// Public entry of mesh/protocol, Weft's protocol engine: Connect, gRPC and gRPC-Web served from
// node:http2 and node:http on the host's servers, and the in-process transport over the same calls.
export { createWeftEngine } from "./engine.ts";
export { classifyContentType } from "./protocols.ts";
export type { WeftEngineOptions } from "./engine.ts";
export { createInProcessTransport } from "./in-process-transport.ts";
export { encodeFrame, FrameReader, FLAG_COMPRESSED, FLAG_END_STREAM, FLAG_TRAILER } from "./envelope.ts";
export type { Frame } from "./envelope.ts";
/** Timeout headers (one parser, in mesh/engine), re-exported for the client transports. */
export { parseTimeoutHeader, formatGrpcTimeout } from "../engine/index.ts";
/** The lazy HandlerContext every Weft server (HTTP, NATS, in-process) gives handlers and hooks. */
export { LazyHandlerContext, toHeaders } from "./handler-context.ts";
export type { ContextOwner } from "./handler-context.ts";
/** gzip with a bound on the inflated size, shared with Weft's client transports. */
export { gunzipLimited, gzip } from "./compression.ts";
/** JSON codec options (registry for Any, unknown fields). */
export type { JsonCodecOptions } from "./method-table.ts";
