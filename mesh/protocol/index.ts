// Weft's protocol engine: Connect, gRPC and gRPC-Web served from node:http2 and node:http.
export { createWeftEngine, classifyContentType } from "./engine.ts";
export type { WeftEngineOptions } from "./engine.ts";
export { serveWeft } from "./serve.ts";
export type { ServeWeftOptions, WeftServer } from "./serve.ts";
export { encodeFrame, FrameReader, FLAG_COMPRESSED, FLAG_END_STREAM, FLAG_TRAILER } from "./envelope.ts";
export type { Frame } from "./envelope.ts";
export { parseTimeoutHeader, formatGrpcTimeout } from "./timeout.ts";
export { gunzipLimited, gzip } from "./compression.ts";
export type { JsonCodecOptions } from "./method-table.ts";
