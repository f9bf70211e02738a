import type { Tracer } from "@opentelemetry/api";
import { type Cache, createMemoryCache } from "../mesh/cache/index.ts";
import { type ComputePool, createInlineComputePool } from "../mesh/compute/index.ts";
import { createMemoryEventBus, type EventBus } from "../mesh/events/index.ts";
import { createHost, type Host, type HostLogger, type HttpFallback } from "../mesh/host/index.ts";
import { createRedRecorder, createServerMetricsHooks, createTracingCallHooks, traceTransport, type Metrics } from "../mesh/telemetry/index.ts";
import { callerOf, redAdminExtensions } from "../mesh/ops/index.ts";
import { createInboundCallHooks } from "../mesh/resilience/index.ts";
import { loadSeedProducts } from "./catalog/index.ts";
import { loadSeedStock } from "./inventory/index.ts";
import { type Argon2Params, generateSigningKeys, type SigningKeys } from "./identity/index.ts";
import { shopProtoServices } from "./manifest.ts";
import { createGatewayRateLimits, GATEWAY_READ_LIMITS, withJwksRoute } from "./gateway/index.ts";
import type { SqlClient } from "./orders/index.ts";
import { createShopServices, type ShopOptions } from "./shop.ts";
import { createShopAuthorization, gatewayEndUserHeaders, loadShopPolicies } from "./shop-security.ts";
import { createAdminTokenGuard, issueDevelopmentCredentials } from "../mesh/security/index.ts";

/** Options of {@link startInProcessShop}. */
export interface InProcessShopOptions {
  /** Address to bind. Default "127.0.0.1". */
  readonly hostname?: string;
  /** Port; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Origins allowed to call from a browser. Default [] (same-origin and non-browser callers only). */
  readonly corsAllowedOrigins?: readonly string[];
  /** Access-token keys. Default: a new ES256 key for this process. */
  readonly signingKeys?: SigningKeys;
  /** The compute pool for password hashing and recommendation training. Default: the inline pool. Closed by `close()`. */
  readonly compute?: ComputePool;
  /** The event bus. Default: the in-memory bus. Closed by `close()`. */
  readonly events?: EventBus;
  /**
   * Orders' database (`openOrdersDatabase`: PGlite or PostgreSQL), migrated at start; orders and their
   * events go through its outbox; a promise lets the shop listen while it opens (orders' calls wait).
   * Closed by `close()`. Default: none (orders in memory, published directly).
   */
  readonly ordersDb?: SqlClient | Promise<SqlClient>;
  /** The catalog's cache. Default: an in-memory cache of at most 32 MiB. Closed by `close()`. */
  readonly cache?: Cache;
  /** Argon2id cost of new password hashes. Default OWASP's (m=19 MiB, t=2, p=1). */
  readonly passwordParams?: Argon2Params;
  /** How long a drain waits for in-flight calls, in milliseconds. Default: the host's (25 s). */
  readonly drainGraceMs?: number;
  /** The host's logger. Default: JSON lines on stdout/stderr. */
  readonly logger?: HostLogger;
  /**
   * Plain HTTP on the shop's port for GET/HEAD of paths that are not RPCs, e.g.
   * `serveStaticFiles({ root: await buildWeb() })` for the storefront page. Default none (such
   * requests get a Connect 404).
   */
  readonly httpFallback?: HttpFallback;
  /**
   * The gateway's sessions and sign-in lockout (e.g. in Redis), cookie security, and where a call came from
   * (`clientAddress`, also the rate limits' key without credentials). Default: in memory, plain-HTTP cookies,
   * the socket's address.
   */
  readonly edge?: ShopOptions["edge"];
  /** Prometheus metrics, served at `/metrics` and recorded by the host's call hooks and the cache. Default: none. */
  readonly metrics?: Metrics;
  /** Traces every call (a SERVER span per call, a CLIENT span per call between services). Default none. */
  readonly tracer?: Tracer;
  /** The gateway's rate limits (services/gateway/rate-limits.ts), per process (no Redis). Default false. */
  readonly rateLimits?: boolean;
  /**
   * An operator's token for the AdminService (header `weft-admin-token`, what the `weft` CLI sends).
   * Default: none (only workload identities may call it, and none exist outside the process).
   */
  readonly adminToken?: string;
  /** Event-loop delay in milliseconds, for the admin API (resilience's event-loop monitor). Default: not reported. */
  readonly eventLoopDelayMs?: () => number;
  /** Tasks waiting in the compute pool, for the admin API. Default: not reported. */
  readonly workerQueueDepth?: () => number;
  /** How often recommendations retrain when orders arrived, in ms (0: only on demand). Default 60,000. */
  readonly recommendationsTrainIntervalMs?: number;
}

/** A running in-process shop. */
export interface InProcessShop {
  /** The host serving every shop service (plus health, reflection and admin). */
  readonly host: Host;
  /** Base URL, e.g. "http://127.0.0.1:8080". */
  readonly url: string;
  readonly port: number;
  /** Graceful drain (health NOT_SERVING, finish in-flight calls, close), then releases bus, cache, pool and orders' database. */
  drain(): Promise<void>;
  /** Closes at once, then releases bus, cache and pool. */
  close(): Promise<void>;
}

/**
 * Every shop service in one process on one port: calls between services go through the host's
 * in-process transport, with the in-memory event bus and cache (the embedded defaults).
 */
export async function startInProcessShop(options: InProcessShopOptions = {}): Promise<InProcessShop> {
  const [products, stock] = await Promise.all([loadSeedProducts(), loadSeedStock()]);
  const events = options.events ?? createMemoryEventBus({ source: "shop", tracer: options.tracer });
  const { metrics } = options;
  const cache = options.cache ?? createMemoryCache({ metrics, metricsName: "catalog" });
  const compute = options.compute ?? createInlineComputePool();
  // The same policies as distributed mode: the port is public, so only the gateway (and health and
  // reflection) answer anonymous callers; each service calls the others as its own workload identity,
  // and the gateway signs the end user on to orders. Credentials are issued in memory per process.
  const table = await loadShopPolicies();
  const credentials = issueDevelopmentCredentials({ trustDomain: table.trustDomain, services: [...table.workloads.keys()] });
  const gateway = credentials.workloads.get("gateway")!;
  const authorization = createShopAuthorization({ table, credentials: () => gateway });
  const red = createRedRecorder({ callerOf });
  const host = createHost({
    guardAdmin: options.adminToken === undefined ? authorization.guardAdmin : createAdminTokenGuard(options.adminToken, authorization.guardAdmin),
    admin: redAdminExtensions({
      window: red.window,
      load: () => ({ eventLoopDelayUs: Math.round((options.eventLoopDelayMs?.() ?? 0) * 1000), workerQueueDepth: options.workerQueueDepth?.() ?? 0, concurrencyLimit: 0 }),
    }),
    hostname: options.hostname,
    port: options.port,
    corsAllowedOrigins: options.corsAllowedOrigins,
    drainGraceMs: options.drainGraceMs,
    logger: options.logger,
    // The gateway's public keys at /.well-known/jwks.json, then the page (the verifier exists once the shop does).
    httpFallback: (req, res) => withJwksRoute(shop.tokens, options.httpFallback)(req, res),
    methodReadMaxBytes: GATEWAY_READ_LIMITS,
    metrics,
    // Tracing outermost, then metrics, then authorization, as mesh/node orders them.
    callHooks: [
      ...(options.tracer === undefined ? [] : [createTracingCallHooks({ tracer: options.tracer })]),
      ...(metrics === undefined ? [] : [createServerMetricsHooks(metrics)]),
      red.hooks,
      authorization.hooks,
      ...(options.rateLimits === true ? [createGatewayRateLimits({ clientAddress: options.edge?.clientAddress })] : []),
      // Handlers run in their call's scope, so a call they make in process names its caller (the admin API's edges).
      createInboundCallHooks(),
    ],
  });
  const transport = host.inProcessTransport();
  const closeOrdersDb = () => Promise.resolve(options.ordersDb).then((db) => db?.close(), () => {});
  // The host's fallback (above) reads `shop.tokens` at request time, once the shop exists.
  const shop = await createShopServices({
    transport: options.tracer === undefined ? transport : traceTransport(transport, options.tracer, "in-process"),
    transportFor: (workload) => {
      const made = host.inProcessTransport({ peerIdentity: table.workloads.get(workload)?.uri });
      return options.tracer === undefined ? made : traceTransport(made, options.tracer, "in-process");
    },
    endUserHeaders: gatewayEndUserHeaders(table, () => gateway),
    events,
    cache,
    compute,
    signingKeys: options.signingKeys ?? (await generateSigningKeys()),
    products,
    stock,
    passwordParams: options.passwordParams,
    edge: options.edge,
    recommendationsTrainIntervalMs: options.recommendationsTrainIntervalMs,
    ordersDb: options.ordersDb,
    onOutboxRelayError: (err) => options.logger?.error("outbox relay failed; retrying", { error: String(err) }),
  }).catch(async (err) => {
    await Promise.all([events.close(), cache.close(), compute.close(), closeOrdersDb()]).catch(() => {});
    throw err;
  });
  const built = shop.entries.map((e) => e.service.typeName).sort().join(", ");
  const listed = shopProtoServices().sort().join(", ");
  if (built !== listed) {
    await shop.close();
    throw new Error(`the shop builds ${built} but services/manifest.ts lists ${listed}: update one of them`);
  }
  for (const { service, impl } of shop.entries) host.register(service, impl);

  let released: Promise<void> | undefined;
  const release = () =>
    (released ??= shop.close().then(() => Promise.all([events.close(), cache.close(), compute.close(), closeOrdersDb()])).then(() => {}));
  // The bus, cache and pool outlive in-flight calls: they are released in the drain's last phase.
  host.onDrain("close", "release-shop-resources", release);

  const address = await host.listen();
  return {
    host,
    url: address.url,
    port: address.port,
    drain: () => host.drain().then(release),
    close: () => host.close().then(release),
  };
}
