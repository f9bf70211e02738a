// `npm start`: the whole reference shop in one process (in-memory transport, bus and cache), with the
// storefront page on the same port (GET / and its assets; every RPC path stays the API's). Config from
// the environment (see start-config.ts); nothing else.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createEventLoopMonitor } from "../mesh/resilience/index.ts";
import { createInlineComputePool, createPiscinaComputePool } from "../mesh/compute/index.ts";
import { HOST_PORT_HINTS, readCommandLine, runMain } from "../mesh/errors/index.ts";
import { createJsonLogger, drainOnSignals, exitOnSignalsDuringStartup, type HttpFallback, serveStaticFiles } from "../mesh/host/index.ts";
import { createMetrics, readMetricsConfig, TELEMETRY_VARIABLES, readTracingConfig, startTracing, type Tracing } from "../mesh/telemetry/index.ts";
import { startInProcessShop } from "./in-process-shop.ts";
import { openOrdersDatabase } from "./orders/index.ts";
import { describeShopServices } from "./manifest.ts";
import { clientAddressOf, GATEWAY_RATE_LIMITS_VARIABLE, GATEWAY_TRUSTED_PROXIES_VARIABLE } from "./gateway/index.ts";
import { exampleCommands, readSigningKeys, readStartConfig } from "./start-config.ts";

readCommandLine({
  usage: "npm start   (node services/start.ts)",
  summary: "The whole reference shop in one process: every service, the storefront page and /metrics on one port\n(in-memory transport, bus, cache and stores, orders in PGlite; no NATS, Redis, PostgreSQL or Jaeger needed).",
  flags: {},
  env: [
    { name: "PORT", defaultText: "8080", description: "the shop's port (every service, every protocol, the page); 0 picks a free port" },
    { name: "HOST", defaultText: "127.0.0.1", description: "address to bind; 0.0.0.0 accepts remote callers" },
    { name: "CORS_ORIGINS", defaultText: "none", description: "extra browser origins (comma-separated) allowed to call the API" },
    { name: "WEFT_ADMIN_TOKEN", defaultText: "random, in .weft/admin-token", description: "operator token for the AdminService (what the weft CLI sends), 16+ characters" },
    { name: "IDENTITY_SIGNING_KEYS", defaultText: "one new ES256 key per process", description: "JWKS of ES256 private keys that sign access tokens (npm run --silent keys:signing)" },
    { name: "IDENTITY_TOKEN_SECRET", description: "retired (HS256): refused at start-up, set IDENTITY_SIGNING_KEYS instead" },
    { name: "COMPUTE", defaultText: "piscina", description: "where password hashing runs: piscina (worker threads) or inline" },
    { name: "DATABASE_URL", defaultText: "PGlite in this process", description: "PostgreSQL for orders and their outbox, e.g. postgres://postgres@127.0.0.1:5432/weft" },
    { name: "ORDERS_DATA_DIR", defaultText: "in memory", description: "directory where the embedded PGlite keeps orders (without DATABASE_URL)" },
    GATEWAY_RATE_LIMITS_VARIABLE,
    GATEWAY_TRUSTED_PROXIES_VARIABLE,
    { name: "WEB", defaultText: "on", description: "off serves the API only (no storefront page, no Vite build)" },
    ...TELEMETRY_VARIABLES,
    { name: "WEB_PORT", description: "retired: refused (the page is served on PORT)" },
  ],
  notes: "A bad setting stops start-up with one WEFT_ERR_* line naming it (docs/errors.md). Ctrl-C drains and exits.",
});

const { config, tracingConfig, metricsConfig, logger } = await runMain(() => ({
  config: readStartConfig(process.env),
  tracingConfig: readTracingConfig(process.env, "weft-shop"),
  metricsConfig: readMetricsConfig(process.env),
  logger: createJsonLogger("weft.shop"),
}));
// Ctrl-C while PGlite and the page are still starting exits 0; once up, Ctrl-C drains (below).
exitOnSignalsDuringStartup({ logger });
const signing = await runMain(() => readSigningKeys(config.signingKeys));
const metrics = metricsConfig.enabled ? createMetrics() : undefined;

// Tracing before anything that traces; off (and not loaded) unless an OTLP endpoint is set.
const tracing: Tracing | undefined = await runMain(() => startTracing(tracingConfig, { onError: (err) => logger.error("trace export failed", { error: String(err) }) }));

// The orders database opens (PGlite's initdb takes seconds) while the page builds and the shop starts:
// orders' first calls wait for it; a failure ends the process with one WEFT_ERR_ORDERS_DATABASE line.
const openingOrdersDb = runMain(() => openOrdersDatabase({
  databaseUrl: config.databaseUrl,
  dataDir: config.ordersDataDir,
  onError: (err) => logger.error("orders database connection lost", { error: String(err) }),
}));

// The page is built before the host starts, which takes it as its plain-HTTP fallback. A failed build
// is logged and the API starts without the page.
let web: HttpFallback | undefined;
let webState = "off (WEB=off)";
if (config.web) {
  try {
    const [{ buildWeb }, { withSecurityHeaders }] = await Promise.all([import("../web/build.ts"), import("../web/security-headers.ts")]);
    // Vite names the bundle by content hash, so /assets/ may be cached for good. The page calls only
    // its own origin (CSP connect-src 'self'), may not be framed and sends no referrer.
    web = withSecurityHeaders(serveStaticFiles({ root: await buildWeb(), immutablePrefixes: ["/assets/"] }));
  } catch (err) {
    logger.error("storefront page not served", { error: (err as Error).message });
    webState = "not served (its build failed, see the error above)";
  }
}

/** Password hashes that may wait for a worker thread; one more is answered RESOURCE_EXHAUSTED. */
const COMPUTE_MAX_QUEUE = 64;

// The operators' admin token (what the weft CLI sends): given, or random and left where the CLI looks.
const adminToken = config.adminToken ?? randomBytes(24).toString("base64url");
const adminTokenFile = resolve(".weft", "admin-token");
if (config.adminToken === undefined) {
  mkdirSync(dirname(adminTokenFile), { recursive: true });
  writeFileSync(adminTokenFile, adminToken + "\n", { mode: 0o600 });
}
const eventLoop = createEventLoopMonitor();

const shop = await runMain(() => startInProcessShop({
  compute:
    config.compute === "piscina"
      ? createPiscinaComputePool({ maxQueue: COMPUTE_MAX_QUEUE, tracing, metrics, onError: (err) => logger.error("compute worker failed", { error: String(err) }) })
      : createInlineComputePool(),
  hostname: config.hostname,
  port: config.port,
  signingKeys: signing.keys,
  corsAllowedOrigins: config.corsOrigins,
  httpFallback: web,
  metrics,
  logger,
  tracer: tracing?.tracer,
  rateLimits: config.rateLimits,
  edge: { clientAddress: clientAddressOf(config.trustedProxies) },
  adminToken,
  eventLoopDelayMs: eventLoop.delayMs,
  ordersDb: openingOrdersDb,
}), { hints: HOST_PORT_HINTS });
shop.host.onDrain("close", "event-loop-monitor", () => eventLoop.close());
if (tracing !== undefined) shop.host.onDrain("close", "tracing-shutdown", () => tracing.shutdown());
drainOnSignals(shop, { logger });

const lines = [
  "",
  `Weft shop: ${shop.url}`,
  `  storefront page: ${web ? `${shop.url}/ (open it in a browser)` : webState}`,
  `  ${describeShopServices()} in one process (Connect, gRPC and gRPC-Web on one port)`,
  `  metrics: ${metrics ? `${shop.url}/metrics (Prometheus text; WEFT_METRICS=off to disable)` : "off (WEFT_METRICS=off)"}`,
  `  admin API and weft CLI: npx weft ls --url ${shop.url} (token: ${config.adminToken === undefined ? `${adminTokenFile}, read by the CLI` : "WEFT_ADMIN_TOKEN"})`,
  `  orders: ${config.databaseUrl ? "PostgreSQL (DATABASE_URL)" : `PGlite ${config.ordersDataDir ? `in ${config.ordersDataDir}` : "in memory (set ORDERS_DATA_DIR to keep them)"}`}, events through the outbox`,
  `  password hashing and recommendation training: ${config.compute === "piscina" ? "piscina worker threads" : "inline (this thread)"}`,
  `  tracing: ${tracing ? `on, OTLP to ${tracingConfig.tracesUrl} as ${tracingConfig.serviceName}` : "off (set OTEL_EXPORTER_OTLP_ENDPOINT to export traces)"}`,
  ...(signing.generated ? ["  access tokens are signed with a new key (set IDENTITY_SIGNING_KEYS to keep them valid across restarts)"] : []),
  "",
  "Try:",
  ...exampleCommands(shop.url).flatMap(({ title, command }) => [`  # ${title}`, `  ${command}`]),
  "",
  "Ctrl-C or SIGTERM drains in-flight calls and exits.",
  "",
];
process.stdout.write(lines.join("\n") + "\n");
