/** The inventory service: handlers, the pure stock ledger and the committed starting stock. */
export { createInventoryService } from "./inventory-service.ts";
export type { InventoryServiceOptions } from "./inventory-service.ts";
export { createStockLedger } from "./stock-ledger.ts";
export type { StockLedger, StockSnapshot } from "./stock-ledger.ts";
export { loadSeedStock } from "./seed/load-seed.ts";
