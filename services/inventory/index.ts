/** The inventory service: handlers, the stock ledgers (in memory, Redis), the reservation lifecycle and the starting stock. */
export { createInventoryService, MAX_IDS_PER_CALL } from "./inventory-service.ts";
export type { InventoryServiceOptions } from "./inventory-service.ts";
export { createStockLedger, DEFAULT_RELEASED_RETENTION_MS, DEFAULT_RESERVATION_TTL_MS } from "./stock-ledger.ts";
export type {
  ConfirmOutcome,
  ConfirmStatus,
  ExpiredReservation,
  MemoryStockLedgerOptions,
  StockLedger,
  StockSnapshot,
} from "./stock-ledger.ts";
export { createRedisStockLedger } from "./redis-stock-ledger.ts";
export type { RedisStockLedger, RedisStockLedgerOptions } from "./redis-stock-ledger.ts";
export { startReservationLifecycle } from "./reservation-lifecycle.ts";
export type { ReservationLifecycle, ReservationLifecycleOptions } from "./reservation-lifecycle.ts";
export { loadSeedStock } from "./seed/load-seed.ts";
