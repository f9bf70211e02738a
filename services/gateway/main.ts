// One gateway instance in distributed mode: config from the environment, wiring, nothing else.
// With REDIS_URL, browser sessions and the sign-in lockout live in Redis and any number of instances
// share them; without it they live in this process.
// Run: NATS_URL=nats://127.0.0.1:4222 PORT=8080 node services/gateway/main.ts

import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.ts";
import { GatewayService } from "../../gen/shop/gateway/v1/gateway_pb.ts";
import { IdentityService } from "../../gen/shop/identity/v1/identity_pb.ts";
import { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderService } from "../../gen/shop/orders/v1/orders_pb.ts";
import { HOST_PORT_HINTS, runMain } from "../../mesh/errors/index.ts";
import { drainOnSignals } from "../../mesh/host/index.ts";
import { MeshConfigError, nodeService, readMeshNodeConfig, startMeshNode } from "../../mesh/node/index.ts";
import { beginServiceMain } from "../service-main.ts";
import { gatewayEndUserHeaders, loadShopPolicies } from "../shop-security.ts";
import { insecureEndUserHeaders } from "../../mesh/security/index.ts";
// Not the identity entry: it would load password hashing (argon2), which the gateway never does.
import { createTokenVerifier, type TokenVerifier } from "../identity/index.ts";
import { clientAddressOf, createGatewayRateLimits, createGatewayService, createSessionStore, createSignInThrottle, GATEWAY_RATE_LIMITS_VARIABLE, GATEWAY_READ_LIMITS, GATEWAY_TRUSTED_PROXIES_VARIABLE, readGatewayRateLimitsSetting, readTrustedProxies, withJwksRoute } from "./index.ts";

const logger = await beginServiceMain("gateway", {
  summary: "The browser-facing edge of the shop in distributed mode; stateless, run as many as you like.",
  env: [GATEWAY_RATE_LIMITS_VARIABLE, GATEWAY_TRUSTED_PROXIES_VARIABLE],
});
await runMain(async () => {
  const config = readMeshNodeConfig(process.env, "gateway");
  const rateLimits = readGatewayRateLimitsSetting(process.env);
  if (rateLimits === undefined) throw new MeshConfigError(`GATEWAY_RATE_LIMITS is ${JSON.stringify(process.env.GATEWAY_RATE_LIMITS)}, set GATEWAY_RATE_LIMITS to "on" or "off"`);
  let clientAddress;
  try {
    clientAddress = clientAddressOf(readTrustedProxies(process.env.GATEWAY_TRUSTED_PROXIES));
  } catch (err) {
    throw new MeshConfigError(`${(err as Error).message}, or unset it`);
  }
  // Built with the services; the host's plain-HTTP route reads it once it exists.
  let tokens: TokenVerifier | undefined;
  const node = await startMeshNode({
    config,
    logger,
    policies: await loadShopPolicies(config.trustDomain, { workload: config.workload, services: [GatewayService] }),
    methodReadMaxBytes: GATEWAY_READ_LIMITS,
    // Shared through Redis when REDIS_URL is set (keys under the events prefix, as the stores'), else per process.
    callHooks: ({ redis }) => !rateLimits ? [] : [createGatewayRateLimits({ redis, keyPrefix: `${config.eventsPrefix}gateway:ratelimit:v1:`, clientAddress })],
    httpFallback: (req, res) => withJwksRoute(tokens!)(req, res),
    services: ({ mesh, workloadTls, policies, redis }) => {
      const identity = mesh.client(IdentityService);
      tokens = createTokenVerifier({ jwks: async (signal) => JSON.parse((await identity.getPublicKeys({}, { signal })).jwksJson) });
      const keyPrefix = `${config.eventsPrefix}gateway:v1:`;
      return [
        nodeService(GatewayService, createGatewayService({
          // Signed end-user credentials under mTLS; a plain header in development mode without credentials.
          endUserHeaders: workloadTls === undefined || policies === undefined ? insecureEndUserHeaders : gatewayEndUserHeaders(policies, () => workloadTls.current()),
          catalog: mesh.client(CatalogService),
          inventory: mesh.client(InventoryService),
          identity,
          orders: mesh.client(OrderService),
          tokens,
          sessions: createSessionStore(redis === undefined ? {} : { redis, keyPrefix }),
          signInThrottle: createSignInThrottle(redis === undefined ? {} : { redis, keyPrefix }),
          clientAddress,
        })),
      ];
    },
  });
  drainOnSignals(node.host, { logger });
  logger.info("gateway listening", { instanceId: config.instanceId, address: node.address, startupMs: node.startup });
}, { hints: HOST_PORT_HINTS });
