// One catalog instance in distributed mode: config from the environment, wiring, nothing else.
// Run: NATS_URL=nats://127.0.0.1:4222 [REDIS_URL=redis://127.0.0.1:6379] CATALOG_PAGE_TOKEN_SECRET=<base64url, 32+ bytes> node services/catalog/main.ts

import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { createMemoryCache, createRedisCache } from "../../mesh/cache/index.ts";
import { HOST_PORT_HINTS, runMain } from "../../mesh/errors/index.ts";
import { drainOnSignals } from "../../mesh/host/index.ts";
import { nodeService, readMeshNodeConfig, startMeshNode } from "../../mesh/node/index.ts";
import { beginServiceMain } from "../service-main.ts";
import { loadShopPolicies } from "../shop-security.ts";
import { createCatalogService, loadSeedProducts, parsePageTokenSecret } from "./index.ts";

const logger = await beginServiceMain("catalog", { summary: "The product catalog (cached reads, search) in distributed mode, found through NATS discovery.", env: [{ name: "CATALOG_PAGE_TOKEN_SECRET", defaultText: "random per process", description: "HMAC key (base64url, 32+ bytes) of page tokens; replicas must share it" }] });
await runMain(async () => {
  const config = readMeshNodeConfig(process.env, "catalog");
  const pageTokens = parsePageTokenSecret(process.env.CATALOG_PAGE_TOKEN_SECRET, "CATALOG_PAGE_TOKEN_SECRET");
  if (pageTokens.generated) logger.info("page tokens are signed with a random key (set CATALOG_PAGE_TOKEN_SECRET to share one between replicas)", {});
  const node = await startMeshNode({
    config,
    logger,
    policies: await loadShopPolicies(config.trustDomain, { workload: config.workload, services: [CatalogService] }),
    services: async ({ redis, tracer, metrics, onClose }) => {
      const cache =
        redis === undefined
          ? createMemoryCache({ metrics, metricsName: "catalog" })
          : createRedisCache({ redis, keyPrefix: `${config.eventsPrefix}catalog:v1:`, tracer, metrics, metricsName: "catalog" });
      onClose(() => cache.close());
      return [nodeService(CatalogService, createCatalogService({ products: await loadSeedProducts(), cache, pageTokenSecret: pageTokens.secret }))];
    },
  });
  drainOnSignals(node.host, { logger });
  logger.info("catalog listening", { instanceId: config.instanceId, address: node.address, startupMs: node.startup });
}, { hints: HOST_PORT_HINTS });
