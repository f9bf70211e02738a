import type { Redis } from "ioredis";
import { createRedisUserDirectory } from "../../../services/identity/redis-user-directory.ts";
import { createUserDirectory, type UserDirectory } from "../../../services/identity/user-directory.ts";
import { createRedisStockLedger } from "../../../services/inventory/redis-stock-ledger.ts";
import { createStockLedger, type StockLedger } from "../../../services/inventory/stock-ledger.ts";
import { createOrderBook, type OrderBook } from "../../../services/orders/order-book.ts";
import { createRedisOrderBook } from "../../../services/orders/redis-order-book.ts";
import { createPostgresClient, type SqlClient } from "../../../services/orders/sql-client.ts";
import { createTestPrefixes } from "./test-redis.ts";
import { createTestDatabase, type TestDatabase } from "../orders/test-postgres.ts";

/**
 * The store implementations that the behaviour suites run against, so one suite covers both
 * (`describe.each(stores.ledgers)(...)`): in memory, and Redis with a fresh key prefix per store (all
 * deleted by `cleanup`). `redis` is read when a store is made (connect in beforeAll).
 */
export function storeKinds(redis: () => Redis) {
  const prefixes = createTestPrefixes("stores");
  // One database per file (made on first use), emptied for each shop: the suites run their tests one by one.
  let database: Promise<TestDatabase> | undefined;
  const clients: SqlClient[] = [];
  async function emptyOrdersDb(): Promise<SqlClient> {
    const db = createPostgresClient({ connectionString: (await (database ??= createTestDatabase("kinds"))).url, maxConnections: 4 });
    clients.push(db);
    await db.query("DROP TABLE IF EXISTS orders, outbox, weft_schema_migrations");
    return db;
  }
  return {
    ledgers: [
      { name: "memory", make: async (stock: Array<[string, number]>, options?: TestLedgerOptions) => createStockLedger(stock, options) },
      {
        name: "redis",
        async make(stock: Array<[string, number]>, options?: TestLedgerOptions) {
          const ledger = createRedisStockLedger({ redis: redis(), keyPrefix: prefixes.next(), ...options });
          await ledger.seedIfAbsent(stock);
          return ledger;
        },
      },
    ] satisfies LedgerKind[],
    directories: [
      { name: "memory", make: () => createUserDirectory() },
      { name: "redis", make: () => createRedisUserDirectory({ redis: redis(), keyPrefix: prefixes.next() }) },
    ] satisfies Array<StoreKind<UserDirectory>>,
    books: [
      { name: "memory", make: (options?: TestBookOptions) => createOrderBook(options) },
      { name: "redis", make: (options?: TestBookOptions) => createRedisOrderBook({ redis: redis(), keyPrefix: prefixes.next(), ...options }) },
    ] satisfies BookKind[],
    /** Stores for a whole router shop (`createRouterShop({ ...await kind.make(stock) })`). */
    shops: [
      {
        name: "memory",
        make: async (stock: Array<[string, number]>, options?: TestLedgerOptions): Promise<ShopStores> =>
          options ? { ledger: createStockLedger(stock, options) } : {},
      },
      {
        name: "redis",
        async make(stock: Array<[string, number]>, options?: TestLedgerOptions): Promise<ShopStores> {
          const ledger = createRedisStockLedger({ redis: redis(), keyPrefix: prefixes.next(), ...options });
          await ledger.seedIfAbsent(stock);
          return {
            ledger,
            users: createRedisUserDirectory({ redis: redis(), keyPrefix: prefixes.next() }),
            book: createRedisOrderBook({ redis: redis(), keyPrefix: prefixes.next() }),
          };
        },
      },
      {
        name: "postgres",
        make: async (stock: Array<[string, number]>, options?: TestLedgerOptions): Promise<ShopStores> => ({
          ...(options ? { ledger: createStockLedger(stock, options) } : {}),
          ordersDb: await emptyOrdersDb(),
        }),
      },
    ],
    async cleanup() {
      await prefixes.cleanup(redis());
      await Promise.all(clients.splice(0).map((db) => db.close()));
      if (database) await (await database).drop();
    },
  };
}

/** The stores of a router shop; empty means the in-memory defaults. */
export interface ShopStores {
  readonly ledger?: StockLedger;
  readonly users?: UserDirectory;
  readonly book?: OrderBook;
  readonly ordersDb?: SqlClient;
}

/** Options every ledger kind accepts in tests. */
export interface TestLedgerOptions {
  readonly reservationTtlMs?: number;
}

/** Options every order book kind accepts in tests. */
export interface TestBookOptions {
  readonly idempotencyTtlMs?: number;
}

/** One order book implementation: `make` builds a fresh, empty, isolated book. */
export interface BookKind {
  readonly name: string;
  make(options?: TestBookOptions): OrderBook;
}

/** One ledger implementation: `make` builds a fresh, isolated ledger with the given stock. */
export interface LedgerKind {
  readonly name: string;
  make(stock: Array<[string, number]>, options?: TestLedgerOptions): Promise<StockLedger>;
}

/** One implementation of a store: `make` builds a fresh, empty, isolated one. */
export interface StoreKind<T> {
  readonly name: string;
  make(): T;
}
