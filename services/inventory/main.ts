// One inventory instance in distributed mode: config from the environment, wiring, nothing else.
// Stock lives in this process: run one instance (replicas would each hold their own stock).
// Run: NATS_URL=nats://127.0.0.1:4222 node services/inventory/main.ts

import { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { createJetStreamEventBus } from "../../mesh/events/index.ts";
import { createJsonLogger, drainOnSignals } from "../../mesh/host/index.ts";
import { nodeService, readMeshNodeConfig, startMeshNode } from "../../mesh/node/index.ts";
import { createInventoryService, createStockLedger, loadSeedStock } from "./index.ts";

const logger = createJsonLogger("weft.inventory");
const config = readMeshNodeConfig(process.env, "inventory");
const node = await startMeshNode({
  config,
  logger,
  services: async ({ nc, onClose }) => {
    const events = await createJetStreamEventBus({ source: "inventory", connection: nc, prefix: config.eventsPrefix });
    onClose(() => events.close());
    const ledger = createStockLedger(await loadSeedStock());
    return [nodeService(InventoryService, createInventoryService({ ledger, events }))];
  },
});
drainOnSignals(node.host, { logger });
logger.info("inventory listening", { instanceId: config.instanceId, address: node.address });
