import type { DescService } from "@bufbuild/protobuf";
import { createClient, type ServiceImpl, type Transport } from "@connectrpc/connect";
import { CatalogService, type Product } from "../gen/shop/catalog/v1/catalog_pb.ts";
import { GatewayService } from "../gen/shop/gateway/v1/gateway_pb.ts";
import { IdentityService } from "../gen/shop/identity/v1/identity_pb.ts";
import { InventoryService } from "../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderService } from "../gen/shop/orders/v1/orders_pb.ts";
import { RecommendationService } from "../gen/shop/recommendations/v1/recommendations_pb.ts";
import type { Cache } from "../mesh/cache/index.ts";
import type { ComputePool } from "../mesh/compute/index.ts";
import type { EventBus } from "../mesh/events/index.ts";
import { createCatalogService } from "./catalog/index.ts";
import { type Argon2Params, createAccessTokens, createIdentityService, createTokenVerifier, type SigningKeys, type TokenVerifier, type UserDirectory } from "./identity/index.ts";
import { createInventoryService, createStockLedger, startReservationLifecycle, type StockLedger } from "./inventory/index.ts";
import { createOrdersService, type OrderBook, type SqlClient, startSqlOrders } from "./orders/index.ts";
import { createGatewayService, type GatewayServiceOptions } from "./gateway/index.ts";
import { createMemoryModelStore, createMemoryOrderLog, createRecommendationService, startModelTrainer, startOrderConsumer } from "./recommendations/index.ts";
import type { EndUserHeaders } from "./shop-security.ts";

/** Options of {@link createShopServices}: everything the six services need, built once by the caller. */
export interface ShopOptions {
  /** How the services reach each other (the host's in-process transport). Only used at call time. */
  readonly transport: Transport;
  /**
   * The transport a workload ("gateway", "orders") calls others through, e.g. an in-process transport
   * made as that workload's identity. Default: `transport` for every workload.
   */
  readonly transportFor?: (workload: string) => Transport;
  /** Headers carrying a signed-in user from the gateway to a service (end-user credentials). Default: none. */
  readonly endUserHeaders?: EndUserHeaders;
  readonly events: EventBus;
  readonly cache: Cache;
  /** Password hashing and recommendation training run here. */
  readonly compute: ComputePool;
  /** Identity's access-token keys (generateSigningKeys or parseSigningKeys). */
  readonly signingKeys: SigningKeys;
  /** The catalogue (e.g. `loadSeedProducts()`). */
  readonly products: readonly Product[];
  /** Starting stock, product id -> units (e.g. `loadSeedStock()`). */
  readonly stock: Iterable<readonly [string, number | bigint]>;
  /** Argon2id cost of new password hashes. Default OWASP's (m=19 MiB, t=2, p=1). */
  readonly passwordParams?: Argon2Params;
  /** Cache key prefix of the catalog. Default "catalog:v1:". */
  readonly cacheKeyPrefix?: string;
  /** Inventory's store. Default: an in-memory ledger holding `stock`. (A given ledger is used as is: seed it first.) */
  readonly ledger?: StockLedger;
  /** Identity's store. Default: an in-memory directory. */
  readonly users?: UserDirectory;
  /**
   * Orders' database (PostgreSQL or PGlite; the caller closes it): migrated at start, orders and their
   * events written together, the events published by the outbox relay. Takes precedence over `book`.
   * Given as a promise (still opening), the shop starts at once and orders' calls wait for it.
   */
  readonly ordersDb?: SqlClient | Promise<SqlClient>;
  /** Failures orders' outbox relay recovers from by itself (database or broker away). Default: nothing. */
  readonly onOutboxRelayError?: (err: unknown) => void;
  /** Orders' store without a database. Default: an in-memory book. */
  readonly book?: OrderBook;
  /** How often inventory sweeps expired reservations, in ms. Default 1,000. */
  readonly reservationSweepIntervalMs?: number;
  /** How often recommendations retrain when orders arrived, in ms (0: only on demand). Default 60,000. */
  readonly recommendationsTrainIntervalMs?: number;
  /** The gateway's browser sessions, sign-in lockout and cookie security. Default: in memory, plain-HTTP cookies. */
  readonly edge?: Pick<GatewayServiceOptions, "sessions" | "signInThrottle" | "secureCookies" | "clientAddress">;
}

/** The six services and what runs beside them. */
export interface ShopServices {
  /** Each service with its handlers, for `host.register` or a router. */
  readonly entries: ServiceEntry[];
  /** The gateway's access-token verifier (its cached JWKS is what `withJwksRoute` publishes). */
  readonly tokens: TokenVerifier;
  /** Stops orders' outbox relay, inventory's reservation lifecycle (OrderPlaced confirmations, expiry sweeps) and recommendations' consumer and trainer. */
  close(): Promise<void>;
}

/** A service and its handlers, ready for `host.register(service, impl)`. */
export interface ServiceEntry<S extends DescService = DescService> {
  readonly service: S;
  readonly impl: ServiceImpl<S>;
}

/**
 * Builds all six shop services, wired to each other through `options.transport`, and starts inventory's
 * reservation lifecycle on `options.events` (placed orders confirm their reservations; abandoned ones
 * expire) and recommendations' order consumer and trainer.
 */
export async function createShopServices(options: ShopOptions): Promise<ShopServices> {
  const { transport, events } = options;
  const ledger = options.ledger ?? createStockLedger(options.stock);
  const sqlOrders = options.ordersDb === undefined ? undefined : await startSqlOrders({ db: options.ordersDb, events, onRelayError: options.onOutboxRelayError, background: options.ordersDb instanceof Promise });
  const lifecycle = await startReservationLifecycle({ ledger, events, sweepIntervalMs: options.reservationSweepIntervalMs });
  const from = (workload: string) => options.transportFor?.(workload) ?? transport;
  const orderLog = createMemoryOrderLog();
  const trainer = await startModelTrainer({
    compute: options.compute,
    orders: orderLog,
    store: createMemoryModelStore(),
    products: options.products,
    intervalMs: options.recommendationsTrainIntervalMs,
  });
  const consumer = await startOrderConsumer({ events, orders: orderLog });
  const gatewayIdentity = createClient(IdentityService, from("gateway"));
  const tokens = createTokenVerifier({ jwks: async (signal) => JSON.parse((await gatewayIdentity.getPublicKeys({}, { signal })).jwksJson) });
  const entries = [
    entry(CatalogService, createCatalogService({ products: options.products, cache: options.cache, cacheKeyPrefix: options.cacheKeyPrefix })),
    entry(
      IdentityService,
      createIdentityService({
        compute: options.compute,
        tokens: createAccessTokens({ keys: options.signingKeys }),
        users: options.users,
        passwordParams: options.passwordParams,
      }),
    ),
    entry(InventoryService, createInventoryService({ ledger, events })),
    entry(RecommendationService, createRecommendationService({ trainer })),
    entry(OrderService, createOrdersService({ catalog: createClient(CatalogService, from("orders")), inventory: createClient(InventoryService, from("orders")), events, book: options.book, store: sqlOrders?.store })),
    entry(
      GatewayService,
      createGatewayService({
        catalog: createClient(CatalogService, from("gateway")),
        inventory: createClient(InventoryService, from("gateway")),
        identity: gatewayIdentity,
        orders: createClient(OrderService, from("gateway")),
        recommendations: createClient(RecommendationService, from("gateway")),
        endUserHeaders: options.endUserHeaders,
        tokens,
        ...options.edge,
      }),
    ),
  ];
  return {
    entries: entries as ServiceEntry[],
    tokens,
    close: async () => {
      await Promise.all([sqlOrders?.stop(), consumer.drain()]);
      await Promise.all([trainer.close(), lifecycle.close()]);
    },
  };
}

function entry<S extends DescService>(service: S, impl: ServiceImpl<S>): ServiceEntry<S> {
  return { service, impl };
}
