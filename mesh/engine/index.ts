// Public entry of mesh/engine: the contract between a server (the host, the NATS RPC server, the
// in-process transport) and what plugs into it. Below protocol, host, resilience and client: it
// imports only codec-level libraries, so every layer above may depend on it and on nothing sideways.

/** The wire-engine contract another protocol engine implements. */
export type { CallGate, EngineAttachment, EngineContext, EngineLimits, EngineServers, ServiceRegistration, WireEngine } from "./wire-engine.ts";
/** Server call hooks: the one server-extension API, run by every transport. */
export { callHooksInterceptor, composeCallHooks } from "./call-hooks.ts";
/** One request header read from a handler context without building its Headers. */
export { readsRawHeaders, requestHeaderValue } from "./request-header.ts";
/** The call hook contract. */
export type { CallHookContext, ComposedCallHooks, ServerCallHooks } from "./call-hooks.ts";
/** The host's call gate (drain admission, in-flight accounting, error sanitising) and its interceptor form. */
export { createCallGate, gateInterceptors, INTERNAL_ERROR_MESSAGE } from "./call-gate.ts";
/** What the call gate needs to know about its server. */
export type { CallGateState } from "./call-gate.ts";
/** Counts calls in progress so a drain can wait for them. */
export { InFlightTracker } from "./in-flight.ts";
/** The CORS policy shared by engines. */
export { createCorsPolicy, isPreflight } from "./cors.ts";
/** The CORS policy types. */
export type { CorsPolicy, PreflightAnswer } from "./cors.ts";
/** The logger contract, the default JSON logger, a silent one for tests, and error serialisation. */
export { createJsonLogger, errorFields, readLogLevel, silentLogger } from "./logger.ts";
export { isSecretHeader, REDACTED, redactHeaders, redactText, redactValue, SECRET_HEADERS } from "./redact.ts";
/** The logger contract. */
export type { HostLogger, JsonLoggerOptions, LogLevel } from "./logger.ts";
/** Plain HTTP beside the RPCs: the `httpFallback` handler contract and how engines route to it. */
export { createFallbackRoute } from "./http-fallback.ts";
/** Types of the HTTP fallback. */
export type { FallbackRequest, FallbackResponse, FallbackRoute, HttpFallback } from "./http-fallback.ts";
/** The unknown-procedure answer and grpc-message encoding (one copy for every engine). */
export { encodeGrpcMessage, respondUnimplemented, unimplementedAnswer, unimplementedMessage } from "./unimplemented.ts";
/** The unknown-procedure answer's shape. */
export type { UnimplementedAnswer } from "./unimplemented.ts";
/** The refusal marker: a call refused before any handler ran (draining, overloaded) may be retried elsewhere. */
export { isRefusal, REFUSED_HEADER, refusedError } from "./refusal.ts";
/** Why a server refused a call. */
export type { RefusalReason } from "./refusal.ts";
/** The one parser of `grpc-timeout` / `connect-timeout-ms` (validated, capped) and the gRPC formatter. */
export { formatGrpcTimeout, parseTimeoutHeader } from "./timeout.ts";
