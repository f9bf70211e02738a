// One inventory instance in distributed mode: config from the environment, wiring, nothing else.
// With REDIS_URL the stock lives in Redis and any number of instances share it; without it the stock
// lives in this process: run one instance.
// Run: NATS_URL=nats://127.0.0.1:4222 [REDIS_URL=redis://127.0.0.1:6379] node services/inventory/main.ts

import { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { createJetStreamEventBus } from "../../mesh/events/index.ts";
import { HOST_PORT_HINTS, runMain } from "../../mesh/errors/index.ts";
import { drainOnSignals } from "../../mesh/host/index.ts";
import { nodeService, readMeshNodeConfig, startMeshNode } from "../../mesh/node/index.ts";
import { beginServiceMain } from "../service-main.ts";
import { loadShopPolicies } from "../shop-security.ts";
import { createInventoryService, createRedisStockLedger, createStockLedger, loadSeedStock, startReservationLifecycle } from "./index.ts";

const logger = await beginServiceMain("inventory", {
  summary: "Stock that never oversells, in distributed mode (in Redis with REDIS_URL, else in this process).",
});
await runMain(async () => {
  const config = readMeshNodeConfig(process.env, "inventory");
  const node = await startMeshNode({
    config,
    logger,
    policies: await loadShopPolicies(config.trustDomain, { workload: config.workload, services: [InventoryService] }),
    services: async ({ nc, tracer, metrics, eventFlows, redis, onClose }) => {
      const events = await createJetStreamEventBus({ source: "inventory", connection: nc, prefix: config.eventsPrefix, replicas: config.eventsReplicas, tracer, metrics, flows: eventFlows });
      onClose(() => events.close());
      const stock = await loadSeedStock();
      let ledger;
      if (redis === undefined) {
        ledger = createStockLedger(stock);
      } else {
        // Under Sentinel (REDIS_URL=redis-sentinel://...) a change is acknowledged once a replica holds it: a failover never resells stock.
        const replicaAcks = redis.options.sentinels?.length ? 1 : 0;
        const shared = createRedisStockLedger({ redis, keyPrefix: `${config.eventsPrefix}inventory:v1:`, replicaAcks });
        await shared.seedIfAbsent(stock);
        ledger = shared;
      }
      // Placed orders confirm their reservations; abandoned ones expire (one durable consumer shared by replicas).
      const lifecycle = await startReservationLifecycle({
        ledger,
        events,
        onSweepError: (error) => logger.error("reservation sweep failed", { error: String(error) }),
      });
      onClose(() => lifecycle.close());
      return [nodeService(InventoryService, createInventoryService({ ledger, events }))];
    },
  });
  drainOnSignals(node.host, { logger });
  logger.info("inventory listening", { instanceId: config.instanceId, address: node.address, startupMs: node.startup });
}, { hints: HOST_PORT_HINTS });
