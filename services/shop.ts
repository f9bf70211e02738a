import type { DescService } from "@bufbuild/protobuf";
import { createClient, type ServiceImpl, type Transport } from "@connectrpc/connect";
import { CatalogService, type Product } from "../gen/shop/catalog/v1/catalog_pb.ts";
import { GatewayService } from "../gen/shop/gateway/v1/gateway_pb.ts";
import { IdentityService } from "../gen/shop/identity/v1/identity_pb.ts";
import { InventoryService } from "../gen/shop/inventory/v1/inventory_pb.ts";
import { OrderService } from "../gen/shop/orders/v1/orders_pb.ts";
import type { Cache } from "../mesh/cache/index.ts";
import type { ComputePool } from "../mesh/compute/index.ts";
import type { EventBus } from "../mesh/events/index.ts";
import { createCatalogService } from "./catalog/index.ts";
import { createAccessTokens, createIdentityService, type UserDirectory } from "./identity/index.ts";
import { createInventoryService, createStockLedger, startReservationLifecycle, type StockLedger } from "./inventory/index.ts";
import { createOrdersService, type OrderBook } from "./orders/index.ts";
import { createGatewayService } from "./gateway/index.ts";

/** Options of {@link createShopServices}: everything the five services need, built once by the caller. */
export interface ShopOptions {
  /** How the services reach each other (the host's in-process transport). Only used at call time. */
  readonly transport: Transport;
  readonly events: EventBus;
  readonly cache: Cache;
  readonly compute: ComputePool;
  /** HMAC key of access tokens, at least 32 bytes. */
  readonly tokenSecret: Uint8Array;
  /** The catalogue (e.g. `loadSeedProducts()`). */
  readonly products: readonly Product[];
  /** Starting stock, product id -> units (e.g. `loadSeedStock()`). */
  readonly stock: Iterable<readonly [string, number | bigint]>;
  /** log2 of scrypt's N for new password hashes. Default 14. */
  readonly scryptCostLog2?: number;
  /** Cache key prefix of the catalog. Default "catalog:v1:". */
  readonly cacheKeyPrefix?: string;
  /** Inventory's store. Default: an in-memory ledger holding `stock`. (A given ledger is used as is: seed it first.) */
  readonly ledger?: StockLedger;
  /** Identity's store. Default: an in-memory directory. */
  readonly users?: UserDirectory;
  /** Orders' store. Default: an in-memory book. */
  readonly book?: OrderBook;
  /** How often inventory sweeps expired reservations, in ms. Default 1,000. */
  readonly reservationSweepIntervalMs?: number;
}

/** The five services and what runs beside them. */
export interface ShopServices {
  /** Each service with its handlers, for `host.register` or a router. */
  readonly entries: ServiceEntry[];
  /** Stops inventory's reservation lifecycle (OrderPlaced confirmations, expiry sweeps). */
  close(): Promise<void>;
}

/** A service and its handlers, ready for `host.register(service, impl)`. */
export interface ServiceEntry<S extends DescService = DescService> {
  readonly service: S;
  readonly impl: ServiceImpl<S>;
}

/**
 * Builds all five shop services, wired to each other through `options.transport`, and starts inventory's
 * reservation lifecycle on `options.events` (placed orders confirm their reservations; abandoned ones
 * expire).
 */
export async function createShopServices(options: ShopOptions): Promise<ShopServices> {
  const { transport, events } = options;
  const ledger = options.ledger ?? createStockLedger(options.stock);
  const lifecycle = await startReservationLifecycle({ ledger, events, sweepIntervalMs: options.reservationSweepIntervalMs });
  const catalogClient = createClient(CatalogService, transport);
  const inventoryClient = createClient(InventoryService, transport);
  const entries = [
    entry(CatalogService, createCatalogService({ products: options.products, cache: options.cache, cacheKeyPrefix: options.cacheKeyPrefix })),
    entry(
      IdentityService,
      createIdentityService({
        compute: options.compute,
        tokens: createAccessTokens({ secret: options.tokenSecret }),
        users: options.users,
        scryptCostLog2: options.scryptCostLog2,
      }),
    ),
    entry(InventoryService, createInventoryService({ ledger, events })),
    entry(OrderService, createOrdersService({ catalog: catalogClient, inventory: inventoryClient, events, book: options.book })),
    entry(
      GatewayService,
      createGatewayService({
        catalog: catalogClient,
        inventory: inventoryClient,
        identity: createClient(IdentityService, transport),
        orders: createClient(OrderService, transport),
      }),
    ),
  ];
  return { entries: entries as ServiceEntry[], close: () => lifecycle.close() };
}

function entry<S extends DescService>(service: S, impl: ServiceImpl<S>): ServiceEntry<S> {
  return { service, impl };
}
