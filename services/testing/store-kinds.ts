import type { Redis } from "ioredis";
import { createRedisStockLedger } from "../inventory/redis-stock-ledger.ts";
import { createStockLedger, type StockLedger } from "../inventory/stock-ledger.ts";
import { createTestPrefixes } from "./test-redis.ts";

/** Options every ledger kind accepts in tests. */
export interface TestLedgerOptions {
  readonly reservationTtlMs?: number;
}

/** One store implementation under test: `make` builds a fresh, isolated ledger with the given stock. */
export interface LedgerKind {
  readonly name: string;
  make(stock: Array<[string, number]>, options?: TestLedgerOptions): Promise<StockLedger>;
}

/**
 * The ledger implementations the behaviour suites run against (`describe.each(ledgerKinds(() => redis))`):
 * in memory, and Redis (a new key prefix per ledger, cleaned by `cleanup`).
 */
export function ledgerKinds(redis: () => Redis) {
  const prefixes = createTestPrefixes("inventory");
  const kinds: LedgerKind[] = [
    { name: "memory", make: async (stock, options) => createStockLedger(stock, options) },
    {
      name: "redis",
      async make(stock, options) {
        const ledger = createRedisStockLedger({ redis: redis(), keyPrefix: prefixes.next(), ...options });
        await ledger.seedIfAbsent(stock);
        return ledger;
      },
    },
  ];
  return { kinds, cleanup: () => prefixes.cleanup(redis()) };
}
