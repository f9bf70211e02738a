// One identity instance in distributed mode: config from the environment, wiring, nothing else.
// With REDIS_URL the users live in Redis and any number of instances share them; without it they live
// in this process: run one instance.
// Run: NATS_URL=nats://127.0.0.1:4222 IDENTITY_TOKEN_SECRET=<base64url, 32+ bytes> node services/identity/main.ts

import { IdentityService } from "../../gen/shop/identity/v1/identity_pb.ts";
import { createInlineComputePool, createPiscinaComputePool } from "../../mesh/compute/index.ts";
import { createJsonLogger, drainOnSignals } from "../../mesh/host/index.ts";
import { nodeService, readMeshNodeConfig, startMeshNode } from "../../mesh/node/index.ts";
import { waitForRedisReady } from "../../mesh/redis/index.ts";
import { createAccessTokens, createIdentityService, createRedisUserDirectory, parseTokenSecret } from "./index.ts";

/** Password hashes that may wait for a worker thread; one more is answered RESOURCE_EXHAUSTED. */
const COMPUTE_MAX_QUEUE = 64;

const logger = createJsonLogger("weft.identity");
const config = readMeshNodeConfig(process.env, "identity");
const { secret, generated } = parseTokenSecret(process.env.IDENTITY_TOKEN_SECRET);
if (generated) logger.info("access tokens are signed with a random key (set IDENTITY_TOKEN_SECRET to share one)", {});
const node = await startMeshNode({
  config,
  logger,
  services: async ({ redis, tracing, metrics, onClose }) => {
    const compute = process.env.COMPUTE === "inline"
      ? createInlineComputePool()
      : createPiscinaComputePool({ maxQueue: COMPUTE_MAX_QUEUE, tracing, metrics, onError: (err) => logger.error("compute worker failed", { error: String(err) }) });
    onClose(() => compute.close());
    if (redis !== undefined) await waitForRedisReady(redis);
    const users = redis === undefined ? undefined : createRedisUserDirectory({ redis, keyPrefix: `${config.eventsPrefix}identity:v1:` });
    return [nodeService(IdentityService, createIdentityService({ compute, tokens: createAccessTokens({ secret }), users }))];
  },
});
drainOnSignals(node.host, { logger });
logger.info("identity listening", { instanceId: config.instanceId, address: node.address });
