// One orders instance in distributed mode: config from the environment, wiring, nothing else.
// With DATABASE_URL the orders and their outbox live in PostgreSQL and any number of instances share them
// (and the outbox relay's work); else with REDIS_URL they live in Redis (events published directly);
// without either they live in this process: run one instance.
// Run: NATS_URL=nats://127.0.0.1:4222 [DATABASE_URL=postgres://postgres@127.0.0.1:5432/weft] node services/orders/main.ts

import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderService } from "../../gen/shop/orders/v1/orders_pb.ts";
import { createJetStreamEventBus, type EventBus } from "../../mesh/events/index.ts";
import { HOST_PORT_HINTS, runMain } from "../../mesh/errors/index.ts";
import { drainOnSignals } from "../../mesh/host/index.ts";
import { nodeService, readMeshNodeConfig, startMeshNode } from "../../mesh/node/index.ts";
import { beginServiceMain } from "../service-main.ts";
import { loadShopPolicies } from "../shop-security.ts";
import { createOrdersService, createRedisOrderBook, openOrdersDatabase, type OrderStore, startSqlOrders } from "./index.ts";

const logger = await beginServiceMain("orders", {
  summary: "Orders (calls catalog and inventory, publishes OrderPlaced) in distributed mode (in PostgreSQL with DATABASE_URL, else in Redis with REDIS_URL, else in this process).",
  env: [{ name: "DATABASE_URL", defaultText: "unset", description: "PostgreSQL for orders and their outbox, e.g. postgres://postgres@127.0.0.1:5432/weft (migrated at start)" }],
});
const databaseUrl = process.env.DATABASE_URL?.trim() || undefined;

/** PostgreSQL (checked, migrated under the advisory lock) with the outbox relay; both released on drain, relay first. */
async function openSqlOrders(url: string, events: EventBus, onClose: (release: () => Promise<void>) => void): Promise<OrderStore> {
  const db = await openOrdersDatabase({ databaseUrl: url, onError: (err) => logger.error("orders database connection lost", { error: String(err) }) });
  try {
    const sql = await startSqlOrders({ db, events, onRelayError: (err) => logger.error("outbox relay failed; retrying", { error: String(err) }) });
    onClose(async () => {
      await sql.stop();
      await db.close();
    });
    return sql.store;
  } catch (err) {
    await db.close();
    throw err;
  }
}

await runMain(async () => {
  const config = readMeshNodeConfig(process.env, "orders");
  const node = await startMeshNode({
    config,
    logger,
    policies: await loadShopPolicies(config.trustDomain, { workload: config.workload, services: [OrderService] }),
    services: async ({ nc, tracer, metrics, eventFlows, mesh, redis, onClose }) => {
      const events = await createJetStreamEventBus({ source: "orders", connection: nc, prefix: config.eventsPrefix, replicas: config.eventsReplicas, tracer, metrics, flows: eventFlows });
      onClose(() => events.close());
      const store = databaseUrl === undefined ? undefined : await openSqlOrders(databaseUrl, events, onClose);
      const book = store !== undefined || redis === undefined ? undefined : createRedisOrderBook({ redis, keyPrefix: `${config.eventsPrefix}orders:v1:` });
      const impl = createOrdersService({ catalog: mesh.client(CatalogService), inventory: mesh.client(InventoryService), events, book, store });
      return [nodeService(OrderService, impl)];
    },
  });
  drainOnSignals(node.host, { logger });
  logger.info("orders listening", { instanceId: config.instanceId, address: node.address, startupMs: node.startup });
}, { hints: HOST_PORT_HINTS });
