// One gateway instance in distributed mode: config from the environment, wiring, nothing else.
// Stateless: run as many as you like behind one address each.
// Run: NATS_URL=nats://127.0.0.1:4222 PORT=8080 node services/gateway/main.ts

import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { IdentityService } from "../../gen/shop/identity/v1/identity_pb.ts";
import { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderService } from "../../gen/shop/orders/v1/orders_pb.ts";
import { HOST_PORT_HINTS, runMain } from "../../mesh/errors/index.ts";
import { drainOnSignals } from "../../mesh/host/index.ts";
import { nodeService, readMeshNodeConfig, startMeshNode } from "../../mesh/node/index.ts";
import { beginServiceMain } from "../service-main.ts";
import { gatewayEndUserHeaders, loadShopPolicies } from "../shop-security.ts";
import { insecureEndUserHeaders } from "../../mesh/security/index.ts";
import { createGatewayRateLimits, createGatewayService, GATEWAY_READ_LIMITS } from "./index.ts";

const logger = await beginServiceMain("gateway", {
  summary: "The browser-facing edge of the shop in distributed mode; stateless, run as many as you like.",
});
await runMain(async () => {
  const config = readMeshNodeConfig(process.env, "gateway");
  const node = await startMeshNode({
    config,
    logger,
    policies: await loadShopPolicies(config.trustDomain),
    methodReadMaxBytes: GATEWAY_READ_LIMITS,
    // Shared through Redis when REDIS_URL is set (keys under the events prefix, as the stores'), else per process.
    callHooks: ({ redis }) => [createGatewayRateLimits({ redis, keyPrefix: `${config.eventsPrefix}gateway:ratelimit:v1:` })],
    services: ({ mesh, workloadTls, policies }) => [
      nodeService(GatewayService, createGatewayService({
        // Signed end-user credentials under mTLS; a plain header in development mode without credentials.
        endUserHeaders: workloadTls === undefined || policies === undefined ? insecureEndUserHeaders : gatewayEndUserHeaders(policies, () => workloadTls.current()),
        catalog: mesh.client(CatalogService),
        inventory: mesh.client(InventoryService),
        identity: mesh.client(IdentityService),
        orders: mesh.client(OrderService),
      })),
    ],
  });
  drainOnSignals(node.host, { logger });
  logger.info("gateway listening", { instanceId: config.instanceId, address: node.address });
}, { hints: HOST_PORT_HINTS });
