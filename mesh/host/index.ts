// Public entry of the Weft service host.

/** Creates a service host (Connect, gRPC and gRPC-Web on one port). */
export { createHost } from "./host.ts";
/** A service host and where it listens. */
export type { Host, HostAddress } from "./host.ts";
/** The host's options, their resolved form, their defaults and their validation. */
export { hostDefaults, resolveHostOptions } from "./options.ts";
/** Options of `createHost`, and the same with defaults filled in. */
export type { HostOptions, ResolvedHostOptions } from "./options.ts";
/** Server call hooks: synchronous admission, accounting and scopes around every call, off the interceptor path. */
export { callHooksInterceptor, composeCallHooks } from "./call-hooks.ts";
/** The call hook contract. */
export type { ComposedCallHooks, ServerCallHooks } from "./call-hooks.ts";
/** The V8 flags a Weft server process runs with (createHost applies them unless `tuneGc: false`). */
export { SERVER_V8_FLAGS, SERVICE_NODE_FLAGS, applyServerV8Flags } from "./gc-tuning.ts";
/** Errors thrown to the host's user (never to callers), with stable WEFT_ERR_HOST_* codes. */
export { HostError, HostErrorCode } from "./errors.ts";
/** Drain phases, and the SIGTERM/SIGINT helper main files call. */
export { drainOnSignals, drainPhases, onShutdownSignals, SIGNAL_REPEAT_WINDOW_MS } from "./drain.ts";
/** Types of the drain API. */
export type { DrainHook, DrainOnSignalsOptions, DrainPhase, Drainable, ShutdownSignalsOptions } from "./drain.ts";
/** Per-service health as served by grpc.health.v1. */
export type { HostHealth, ServingStatus } from "./health.ts";
/** The host's logger contract, the default JSON logger and a silent one for tests. */
export { createJsonLogger, silentLogger } from "./logger.ts";
/** The logger contract. */
export type { HostLogger } from "./logger.ts";
/** The wire-engine contract another protocol engine implements. */
export type { CallGate, EngineAttachment, EngineContext, EngineLimits, EngineServers, ServiceRegistration, WireEngine } from "./engine.ts";
/** connect-node's adapter as an engine (the reference and baseline; the default is Weft's own). */
export { connectNodeEngine } from "./connect-node-engine.ts";
/** Weft's own wire engine, the host's default. */
export { createWeftEngine } from "../protocol/engine.ts";
/** Options of Weft's engine. */
export type { WeftEngineOptions } from "../protocol/engine.ts";
/** A static folder as the host's `httpFallback` (plain HTTP for non-RPC paths on the same port). */
export { serveStaticFiles, contentTypeFor } from "./static-files.ts";
/** Options of `serveStaticFiles`. */
export type { StaticFilesOptions } from "./static-files.ts";
/** The `httpFallback` handler contract and how engines route to it. */
export type { FallbackRequest, FallbackResponse, FallbackRoute, HttpFallback } from "./http-fallback.ts";
/** Runs a CallGate as connect-es interceptors, for engines that cannot report call ends themselves. */
export { gateInterceptors } from "./host-interceptors.ts";
/** The CORS policy shared by engines. */
export { createCorsPolicy, isPreflight } from "./cors.ts";
/** The CORS policy types. */
export type { CorsPolicy, PreflightAnswer } from "./cors.ts";
/** The message every unexpected handler error is answered with (INTERNAL). */
export { INTERNAL_ERROR_MESSAGE } from "./host-interceptors.ts";
/** The unknown-procedure answer and grpc-message encoding, for engines. */
export { encodeGrpcMessage, respondUnimplemented, unimplementedMessage } from "./unimplemented.ts";
