// The one registry of stable codes carried by Weft's start-up, config and usage errors. These errors go
// to the program that builds the runtime, never to an RPC caller (callers get ConnectErrors).
// docs/errors.md explains each code and what to do; error-codes.test.ts keeps the three in step.

/** Every stable error code the runtime throws, with its one-line meaning. */
export const WeftErrorCodes = {
  /** `createHost`/`serveStaticFiles`/`health.set`: an option or argument is invalid; the message names it. */
  WEFT_ERR_HOST_OPTIONS: "An option passed to the host is invalid; the message names the field.",
  /** The host was used in the wrong state (`register` after `listen`, `listen` twice). */
  WEFT_ERR_HOST_STATE: "A host method was called in the wrong state.",
  /** The same service was registered twice on one host, or a name the host serves itself. */
  WEFT_ERR_HOST_DUPLICATE_SERVICE: "The service is already served by this host.",
  /** The host could not open its listener (address in use, permission denied). */
  WEFT_ERR_HOST_LISTEN: "The host could not listen on the address and port.",
  /** A health status was set for a service the host does not serve. */
  WEFT_ERR_HOST_UNKNOWN_SERVICE: "The host does not serve that service.",
  /** `readMeshNodeConfig`: an environment variable of a distributed mesh process is invalid. */
  WEFT_ERR_MESH_CONFIG: "A distributed-mode setting (environment variable) is invalid; the message names it.",
  /** `waitForRedisReady`: the Redis connection was not ready in time, or closed first. */
  WEFT_ERR_REDIS_NOT_READY: "Redis (REDIS_URL) was not ready in time; check that it runs and the URL.",
  /** `startMeshNode`: no NATS server answered at NATS_URL in time. */
  WEFT_ERR_NATS_UNREACHABLE: "NATS (NATS_URL) could not be reached; check that it runs and the URL.",
  /** `runMain`: a start-up failure without a code of its own (its message is printed; LOG_LEVEL=debug adds the stack). */
  WEFT_ERR_STARTUP: "Start-up failed for a reason without a code of its own; the message says what.",
  /** `createWeftEngine`: an option of the wire engine is invalid. */
  WEFT_ERR_PROTOCOL_OPTIONS: "An option of the Weft wire server is invalid; the message names the field.",
  /** `createWeftGrpcTransport`/`createWeftConnectTransport`: a transport option is invalid. */
  WEFT_ERR_TRANSPORT_OPTIONS: "An option of a Weft transport is invalid; the message names the field.",
  /** `createMeshClient` and the Connect-over-NATS client/server: an option is invalid. */
  WEFT_ERR_CLIENT_OPTIONS: "An option of the mesh client is invalid; the message names the field.",
  /** `createNatsDiscovery`/`createAnnouncer`/`createStaticDiscovery`: an option is invalid. */
  WEFT_ERR_DISCOVERY_OPTIONS: "An option of service discovery is invalid; the message names the field.",
  /** Concurrency limiter, load shedding, retry budget, outlier detector, event-loop monitor: an option is invalid. */
  WEFT_ERR_RESILIENCE_OPTIONS: "An option of a resilience component is invalid; the message names the field.",
  /** Memory/Redis caches and `withResponseCache`: an option or argument is invalid. */
  WEFT_ERR_CACHE_OPTIONS: "An option of a cache is invalid; the message names the field.",
  /** Event buses, subscriptions and the idempotency store: an option or argument is invalid. */
  WEFT_ERR_EVENTS_OPTIONS: "An option of the event bus is invalid; the message names the field.",
  /** Compute pools and task modules: an option or argument is invalid. */
  WEFT_ERR_COMPUTE_OPTIONS: "An option of a compute pool is invalid; the message names the field.",
  /** `createWorkloadTls`, `createAuthorization`, internal credentials: an option is invalid. */
  WEFT_ERR_SECURITY_OPTIONS: "An option of mesh security is invalid; the message names the field.",
  /** Workload credentials (ca.crt, tls.crt, tls.key) cannot be read or do not form a valid set. */
  WEFT_ERR_SECURITY_CREDENTIALS: "The workload's certificate files are missing, mismatched, expired or prove no identity, or its NATS nkey seed file is unreadable or not a user seed.",
  /** A policy file is invalid or names a service, method or caller that does not exist. */
  WEFT_ERR_SECURITY_POLICY: "An authorization policy is invalid; the message names the file and the entry.",
  /** `createRateLimitHooks` / `createRedisRateLimiter` / `createLocalRateLimiter`: an option (bucket, method cost) is invalid. */
  WEFT_ERR_RATELIMIT_OPTIONS: "An option of a rate limiter (bucket, method cost, key) is invalid; the message names the field.",
  /** `readTracingConfig` / `readMetricsConfig` / `createJsonLogger`: an OTEL_*, WEFT_METRICS or LOG_LEVEL environment variable is invalid. */
  WEFT_ERR_TELEMETRY_CONFIG: "A telemetry setting (OTEL_*, WEFT_METRICS or LOG_LEVEL environment variable) is invalid; the message names it.",
  /** `createMetrics`: an option is invalid. */
  WEFT_ERR_TELEMETRY_OPTIONS: "An option of the telemetry (metrics) is invalid; the message names the field.",
} as const;

/** One stable error code of the runtime. */
export type WeftErrorCode = keyof typeof WeftErrorCodes;

/** The codes whose errors are invalid options (thrown as `WeftOptionsError`, a TypeError). */
export type WeftOptionsErrorCode = Extract<WeftErrorCode, `${string}_OPTIONS`>;

/** True when `code` is one of the registry's codes. */
export function isWeftErrorCode(code: unknown): code is WeftErrorCode {
  return typeof code === "string" && Object.hasOwn(WeftErrorCodes, code);
}
