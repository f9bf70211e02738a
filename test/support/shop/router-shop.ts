import { ConnectError, createClient, createRouterTransport, type Interceptor, type Transport } from "@connectrpc/connect";
import { endUserKey } from "../../../mesh/security/index.ts";
import { CatalogService } from "../../../gen/shop/catalog/v1/catalog_pb.ts";
import { GatewayService } from "../../../gen/shop/gateway/v1/gateway_pb.ts";
import { IdentityService } from "../../../gen/shop/identity/v1/identity_pb.ts";
import { InventoryService } from "../../../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderService } from "../../../gen/shop/orders/v1/orders_pb.ts";
import { createMemoryCache } from "../../../mesh/cache/index.ts";
import { createInlineComputePool } from "../../../mesh/compute/index.ts";
import { createMemoryEventBus, type EventBus } from "../../../mesh/events/index.ts";
import { loadSeedProducts } from "../../../services/catalog/seed/load-seed.ts";
import { loadSeedStock } from "../../../services/inventory/seed/load-seed.ts";
import { createLazyTransport } from "../../../services/shared/lazy-transport.ts";
import { createShopServices, type ShopOptions } from "../../../services/shop.ts";
import { generateSigningKeys } from "../../../services/identity/index.ts";

/** A cheap Argon2id cost for tests that hash many passwords (the OWASP cost is tested on its own). */
export const TEST_PASSWORD_PARAMS = Object.freeze({ memoryKiB: 1024, passes: 1 });

/**
 * Test helper: the whole shop behind connect's router transport (no host, no socket), with the seed
 * catalogue, in-memory bus and cache and the inline compute pool. Overrides replace any dependency.
 */
export async function createRouterShop(overrides: Partial<Omit<ShopOptions, "transport">> = {}) {
  const events: EventBus = overrides.events ?? createMemoryEventBus({ source: "test" });
  const cache = overrides.cache ?? createMemoryCache();
  const compute = overrides.compute ?? createInlineComputePool();
  let transport: Transport | undefined;
  const shop = await createShopServices({
    transport: createLazyTransport(() => transport!),
    events,
    cache,
    compute,
    signingKeys: overrides.signingKeys ?? (await generateSigningKeys()),
    products: overrides.products ?? (await loadSeedProducts()),
    stock: overrides.stock ?? (await loadSeedStock()),
    passwordParams: overrides.passwordParams ?? TEST_PASSWORD_PARAMS,
    ledger: overrides.ledger,
    users: overrides.users,
    book: overrides.book,
    ordersDb: overrides.ordersDb,
    reservationSweepIntervalMs: overrides.reservationSweepIntervalMs,
    endUserHeaders: (userId) => asUser(userId).headers,
  });
  transport = createRouterTransport(
    (router) => {
      for (const { service, impl } of shop.entries) router.service(service, impl);
    },
    { router: { interceptors: [testEndUser] } },
  );
  return {
    transport,
    events,
    gateway: createClient(GatewayService, transport),
    catalog: createClient(CatalogService, transport),
    identity: createClient(IdentityService, transport),
    inventory: createClient(InventoryService, transport),
    orders: createClient(OrderService, transport),
    async close() {
      await shop.close();
      await events.close();
      await cache.close();
      await compute.close();
    },
  };
}

/** The test stand-in for the end-user credential: a plain header (no host, no hooks, no signature here). */
const TEST_END_USER_HEADER = "x-test-end-user";

/** Call options that make a call on behalf of `userId` through the router shop. */
export function asUser(userId: string): { headers: Record<string, string> } {
  return { headers: { [TEST_END_USER_HEADER]: userId } };
}

/** Sets the end user from the test header, as the authorization hooks do from a verified credential. */
const testEndUser: Interceptor = (next) => (req) => {
  const userId = req.header.get(TEST_END_USER_HEADER);
  if (userId !== null) req.contextValues.set(endUserKey, { userId, issuer: "test" });
  return next(req);
};

/** Awaits `promise` and returns the ConnectError it rejects with (fails when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw new Error(`expected a ConnectError, got ${String(err)}`);
  }
  throw new Error("expected the call to fail, but it succeeded");
}
