// `npm start`: the whole reference shop in one process (in-memory transport, bus and cache), plus the
// storefront page on a second port. Config from the environment (see start-config.ts); nothing else.
import { createInlineComputePool, createPiscinaComputePool } from "../mesh/compute/index.ts";
import { createJsonLogger, drainOnSignals } from "../mesh/host/index.ts";
import { serveWeb, type WebServer } from "../web/serve.ts";
import { startInProcessShop } from "./in-process-shop.ts";
import { exampleCommands, readStartConfig, ShopConfigError } from "./start-config.ts";

const logger = createJsonLogger("weft.shop");

let config;
try {
  config = readStartConfig(process.env);
} catch (err) {
  if (!(err instanceof ShopConfigError)) throw err;
  console.error(`${err.code}: ${err.message}`);
  process.exit(1);
}

// The page is built first so that its origin can be allowed by the API's CORS policy.
let web: WebServer | undefined;
if (config.webPort !== "off") {
  try {
    const { buildWeb } = await import("../web/build.ts");
    web = await serveWeb({ dir: await buildWeb(), hostname: config.hostname, port: config.webPort });
  } catch (err) {
    logger.error("storefront page not served", { error: (err as Error).message });
  }
}

/** Password hashes that may wait for a worker thread; one more is answered RESOURCE_EXHAUSTED. */
const COMPUTE_MAX_QUEUE = 64;

const shop = await startInProcessShop({
  compute:
    config.compute === "piscina"
      ? createPiscinaComputePool({ maxQueue: COMPUTE_MAX_QUEUE, onError: (err) => logger.error("compute worker failed", { error: String(err) }) })
      : createInlineComputePool(),
  hostname: config.hostname,
  port: config.port,
  tokenSecret: config.tokenSecret,
  corsAllowedOrigins: [...(web ? [web.origin] : []), ...config.corsOrigins],
  logger,
});
shop.host.onDrain("close", "close-storefront", () => web?.close());
drainOnSignals(shop, { logger });

const lines = [
  "",
  `Weft shop: ${shop.url}`,
  "  catalog, identity, inventory, orders and gateway in one process (Connect, gRPC and gRPC-Web on one port)",
  `  password hashing: ${config.compute === "piscina" ? "piscina worker threads" : "inline (this thread)"}`,
  ...(web ? [`  storefront page: ${web.url}/?api=${shop.url}`] : []),
  ...(config.tokenSecretGenerated ? ["  access tokens are signed with a random key (set IDENTITY_TOKEN_SECRET to keep them across restarts)"] : []),
  "",
  "Try:",
  ...exampleCommands(shop.url).flatMap(({ title, command }) => [`  # ${title}`, `  ${command}`]),
  "",
  "Ctrl-C or SIGTERM drains in-flight calls and exits.",
  "",
];
process.stdout.write(lines.join("\n") + "\n");
