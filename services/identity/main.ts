// One identity instance in distributed mode: config from the environment, wiring, nothing else.
// With REDIS_URL the users live in Redis and any number of instances share them; without it they live
// in this process: run one instance.
// Run: NATS_URL=nats://127.0.0.1:4222 IDENTITY_SIGNING_KEYS="$(npm run --silent keys:signing)" node services/identity/main.ts

import { IdentityService } from "../../gen/shop/identity/v1/identity_pb.ts";
import { createInlineComputePool, createPiscinaComputePool } from "../../mesh/compute/index.ts";
import { HOST_PORT_HINTS, runMain } from "../../mesh/errors/index.ts";
import { drainOnSignals } from "../../mesh/host/index.ts";
import { MeshConfigError, nodeService, readMeshNodeConfig, startMeshNode } from "../../mesh/node/index.ts";
import { beginServiceMain } from "../service-main.ts";
import { loadShopPolicies } from "../shop-security.ts";
import { createAccessTokens, createIdentityService, createRedisUserDirectory, parseSigningKeys, type SigningKeys } from "./index.ts";

/** Password hashes that may wait for a worker thread; one more is answered RESOURCE_EXHAUSTED. */
const COMPUTE_MAX_QUEUE = 64;

const logger = await beginServiceMain("identity", {
  summary: "Sign-up, sign-in and access tokens in distributed mode (users in Redis with REDIS_URL, else in this process).", env: [
    { name: "IDENTITY_SIGNING_KEYS", defaultText: "one new ES256 key per process", description: "JWKS of ES256 private keys that sign access tokens (npm run --silent keys:signing); replicas must share it" },
    { name: "IDENTITY_TOKEN_SECRET", description: "retired (HS256): refused at start-up, set IDENTITY_SIGNING_KEYS instead" },
    { name: "COMPUTE", defaultText: "piscina", description: "where password hashing runs: piscina (worker threads) or inline" },
  ],
});

/** IDENTITY_SIGNING_KEYS as a distributed-mode setting (WEFT_ERR_MESH_CONFIG when unusable). */
async function readSigningKeys(env: NodeJS.ProcessEnv): Promise<{ keys: SigningKeys; generated: boolean }> {
  if (env.IDENTITY_TOKEN_SECRET) throw new MeshConfigError("IDENTITY_TOKEN_SECRET is no longer used: access tokens are signed with ES256 keys, set IDENTITY_SIGNING_KEYS instead (npm run --silent keys:signing)");
  try {
    return await parseSigningKeys(env.IDENTITY_SIGNING_KEYS);
  } catch (err) {
    throw new MeshConfigError((err as Error).message);
  }
}
await runMain(async () => {
  const config = readMeshNodeConfig(process.env, "identity");
  const { keys, generated } = await readSigningKeys(process.env);
  const computeSetting = process.env.COMPUTE?.trim() || "piscina";
  if (computeSetting !== "piscina" && computeSetting !== "inline") {
    throw new MeshConfigError(`COMPUTE is ${JSON.stringify(computeSetting)}, set COMPUTE to "piscina" or "inline"`);
  }
  if (generated) logger.info("access tokens are signed with a new key of this process (set IDENTITY_SIGNING_KEYS to share one)", {});
  const node = await startMeshNode({
    config,
    logger,
    policies: await loadShopPolicies(config.trustDomain, { workload: config.workload, services: [IdentityService] }),
    services: async ({ redis, tracing, metrics, onClose }) => {
      // No thread while idle (minThreads 0): a worker thread is a V8 isolate of its own; idle ones exit after 30 s.
      const compute = computeSetting === "inline"
        ? createInlineComputePool()
        : createPiscinaComputePool({ maxQueue: COMPUTE_MAX_QUEUE, minThreads: 0, tracing, metrics, onError: (err) => logger.error("compute worker failed", { error: String(err) }) });
      onClose(() => compute.close());
      const users = redis === undefined ? undefined : createRedisUserDirectory({ redis, keyPrefix: `${config.eventsPrefix}identity:v1:` });
      return [nodeService(IdentityService, createIdentityService({ compute, tokens: createAccessTokens({ keys }), users }))];
    },
  });
  drainOnSignals(node.host, { logger });
  logger.info("identity listening", { instanceId: config.instanceId, address: node.address, startupMs: node.startup });
}, { hints: HOST_PORT_HINTS });
