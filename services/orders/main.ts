// One orders instance in distributed mode: config from the environment, wiring, nothing else.
// With REDIS_URL the orders live in Redis and any number of instances share them; without it they live
// in this process: run one instance.
// Run: NATS_URL=nats://127.0.0.1:4222 [REDIS_URL=redis://127.0.0.1:6379] node services/orders/main.ts

import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderService } from "../../gen/shop/orders/v1/orders_pb.ts";
import { createJetStreamEventBus } from "../../mesh/events/index.ts";
import { HOST_PORT_HINTS, runMain } from "../../mesh/errors/index.ts";
import { drainOnSignals } from "../../mesh/host/index.ts";
import { nodeService, readMeshNodeConfig, startMeshNode } from "../../mesh/node/index.ts";
import { beginServiceMain } from "../service-main.ts";
import { loadShopPolicies } from "../shop-security.ts";
import { createOrdersService, createRedisOrderBook } from "./index.ts";

const logger = await beginServiceMain("orders", {
  summary: "Orders (calls catalog and inventory, publishes OrderPlaced) in distributed mode (in Redis with REDIS_URL, else in this process).",
});
await runMain(async () => {
  const config = readMeshNodeConfig(process.env, "orders");
  const node = await startMeshNode({
    config,
    logger,
    policies: await loadShopPolicies(config.trustDomain),
    services: async ({ nc, tracer, metrics, mesh, redis, onClose }) => {
      const events = await createJetStreamEventBus({ source: "orders", connection: nc, prefix: config.eventsPrefix, tracer, metrics });
      onClose(() => events.close());
      const book = redis === undefined ? undefined : createRedisOrderBook({ redis, keyPrefix: `${config.eventsPrefix}orders:v1:` });
      const impl = createOrdersService({ catalog: mesh.client(CatalogService), inventory: mesh.client(InventoryService), events, book });
      return [nodeService(OrderService, impl)];
    },
  });
  drainOnSignals(node.host, { logger });
  logger.info("orders listening", { instanceId: config.instanceId, address: node.address });
}, { hints: HOST_PORT_HINTS });
