// One recommendations instance in distributed mode: config from the environment, wiring, nothing else.
// With REDIS_URL the order log and the model live in Redis: replicas share them and a restart serves the
// last model at once; without it both live in this process: run one instance.
// Run: NATS_URL=nats://127.0.0.1:4222 [REDIS_URL=redis://127.0.0.1:6379] node services/recommendations/main.ts

import { RecommendationService } from "../../gen/shop/recommendations/v1/recommendations_pb.ts";
import { createPiscinaComputePool } from "../../mesh/compute/index.ts";
import { createJetStreamEventBus } from "../../mesh/events/index.ts";
import { HOST_PORT_HINTS, runMain } from "../../mesh/errors/index.ts";
import { drainOnSignals } from "../../mesh/host/index.ts";
import { MeshConfigError, nodeService, readMeshNodeConfig, startMeshNode } from "../../mesh/node/index.ts";
import { loadSeedProducts } from "../catalog/index.ts";
import { beginServiceMain } from "../service-main.ts";
import { loadShopPolicies } from "../shop-security.ts";
import {
  createMemoryModelStore,
  createMemoryOrderLog,
  createRecommendationService,
  createRedisModelStore,
  createRedisOrderLog,
  startModelTrainer,
  startOrderConsumer,
} from "./index.ts";

/** Trainings that may wait for a worker thread (one runs at a time; this is headroom). */
const COMPUTE_MAX_QUEUE = 4;

const logger = await beginServiceMain("recommendations", {
  summary: "Recommendations learned from OrderPlaced, trained on worker threads (order log and model in Redis with REDIS_URL, else in this process).",
  env: [{ name: "RECOMMENDATIONS_TRAIN_INTERVAL_MS", defaultText: "60000", description: "how often to retrain when new orders arrived, in ms (0: never)" }],
});
await runMain(async () => {
  const config = readMeshNodeConfig(process.env, "recommendations");
  const intervalText = process.env.RECOMMENDATIONS_TRAIN_INTERVAL_MS?.trim() || "60000";
  const intervalMs = Number(intervalText);
  if (!Number.isInteger(intervalMs) || intervalMs < 0) {
    throw new MeshConfigError(`RECOMMENDATIONS_TRAIN_INTERVAL_MS is ${JSON.stringify(intervalText)}, set it to a non-negative integer (milliseconds)`);
  }
  const node = await startMeshNode({
    config,
    logger,
    policies: await loadShopPolicies(config.trustDomain, { workload: config.workload, services: [RecommendationService] }),
    services: async ({ nc, tracer, tracing, metrics, eventFlows, redis, onClose }) => {
      // One training thread, none while idle (minThreads 0: an idle thread exits after 30 s).
      const compute = createPiscinaComputePool({ maxThreads: 1, minThreads: 0, maxQueue: COMPUTE_MAX_QUEUE, tracing, metrics, onError: (err) => logger.error("compute worker failed", { error: String(err) }) });
      onClose(() => compute.close());
      const events = await createJetStreamEventBus({ source: "recommendations", connection: nc, prefix: config.eventsPrefix, replicas: config.eventsReplicas, tracer, metrics, flows: eventFlows });
      onClose(() => events.close());
      const keyPrefix = `${config.eventsPrefix}recommendations:v1:`;
      const orders = redis === undefined ? createMemoryOrderLog() : createRedisOrderLog({ redis, keyPrefix });
      const store = redis === undefined ? createMemoryModelStore() : createRedisModelStore({ redis, keyPrefix });
      const trainer = await startModelTrainer({
        compute,
        orders,
        store,
        products: await loadSeedProducts(),
        intervalMs,
        onError: (error) => logger.error("recommendations training failed", { error: String(error) }),
        onSwap: (info) => logger.info("recommendations model swapped in", { version: info.version, trainingMs: info.trainingMs, orders: info.orders }),
        // Listen at once: calls before the first model wait for it (bounded, then UNAVAILABLE).
        trainInBackground: true,
      });
      onClose(() => trainer.close());
      const consumer = await startOrderConsumer({ events, orders });
      onClose(() => consumer.drain());
      return [nodeService(RecommendationService, createRecommendationService({ trainer }))];
    },
  });
  drainOnSignals(node.host, { logger });
  logger.info("recommendations listening", { instanceId: config.instanceId, address: node.address, startupMs: node.startup });
}, { hints: HOST_PORT_HINTS });
